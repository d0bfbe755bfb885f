"""Access codes of restricted consultations: the agent hands them to the invited candidates."""

import secrets

# No 0/O/o, 1/I/l/i: a code is read aloud on the phone and copied by hand.
ACCESS_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
ACCESS_CODE_LENGTH = 8


def access_code_generate(*, length: int = ACCESS_CODE_LENGTH) -> str:
    """A random, readable code such as « zLQJZV3H »."""
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(length))
