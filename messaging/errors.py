class MessagingError(Exception):
    """A rule of the messaging refused an action; the message is French and shown as is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
