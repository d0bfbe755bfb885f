class DepositError(Exception):
    """A rule refused an action on a deposit; the message is French and shown as is.

    ``reason`` says which kind of refusal it is, for the protocol that answers (the tus
    views turn it into a status code): ``invalid``, ``forbidden``, ``not_found``,
    ``conflict``, ``too_large``, ``unsupported``, ``length_required``, ``checksum``,
    ``gone`` or ``unavailable``.
    """

    def __init__(self, message: str, *, reason: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.reason = reason
