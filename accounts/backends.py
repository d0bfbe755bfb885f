from django.contrib.auth.backends import AllowAllUsersModelBackend


class EmailBackend(AllowAllUsersModelBackend):
    """Inactive accounts authenticate so that the login form can say "confirm your
    address" (the form still refuses them), but a session never outlives a deactivation."""

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None
