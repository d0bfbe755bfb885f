class ConsultationError(Exception):
    """A rule of the procedure refused an action; the message is French and shown as is."""

    def __init__(self, message: str, *, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
