from django.core.exceptions import ValidationError


def base_url(request) -> str:
    """Scheme and host of this request, for links in e-mails (ALLOWED_HOSTS guards the host)."""
    return request.build_absolute_uri("/").rstrip("/")


def form_add_service_error(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when there is one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
