"""The public page « Vérifier une signature »: anyone, without an account, uploads a signed
document (and its detached signature) and reads the report of each signature.

The files are read in memory (or in Django's temporary upload file, gone at the end of the
request), verified, and forgotten: never saved, never logged. Each address may run
``VERIFY_ATTEMPTS`` verifications per ``VERIFY_WINDOW`` (a verification costs CPU).
"""

import contextlib
import logging
from datetime import timedelta

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.client_ip import attempt_reserve, client_ip, throttled_source
from config import clock

from .forms import VerifyForm
from .platform import pdf_check
from .report import Verdict
from .trust import verification_options
from .verify import signature_verify, zip_unpacks_beyond

logger = logging.getLogger(__name__)

VERIFY_ATTEMPTS = 20
VERIFY_WINDOW = timedelta(minutes=15)
# A ZIP (with the ZIPs inside it) that would unpack to more is not verified here (« zip bomb »).
VERIFY_ZIP_MAX_UNPACKED = 100 * 1024 * 1024


def verify_attempt_reserve(request) -> bool:
    """Count one more verification from this address; False once the window's quota is used.
    The counter goes up before the work (an atomic increment, in Redis in production)."""
    base = f"signatures:verify:{throttled_source(client_ip(request))}"
    return attempt_reserve(f"{base}:count", f"{base}:since", limit=VERIFY_ATTEMPTS, window=VERIFY_WINDOW)


def _summary(reports) -> str:
    signed = [r for r in reports if r.signed]
    if not signed:
        return _("Aucune signature électronique n'a été trouvée.")
    valid = sum(1 for r in signed if r.verdict == Verdict.VALID)
    invalid = sum(1 for r in signed if r.verdict == Verdict.INVALID)
    unknown = len(signed) - valid - invalid
    return _(
        "%(total)d signature(s) trouvée(s) : %(valid)d valide(s), %(invalid)d invalide(s), "
        "%(unknown)d indéterminée(s)."
    ) % {"total": len(signed), "valid": valid, "invalid": invalid, "unknown": unknown}


def _platform_seal(data: bytes, *, detached) -> str:
    """For a PDF the platform sealed (receipt, PV, register, proof of a message), what its
    own check says: its seal carries no revocation information, so the general report
    alone would leave it « indéterminée »."""
    if detached or not data.startswith(b"%PDF"):
        return ""
    check = pdf_check(data)
    return check.message if check.valid else ""


@never_cache
def verify_public(request):
    status = 200
    reports = None
    platform_seal = ""
    throttled = False
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            if not verify_attempt_reserve(request):
                status = 429
                throttled = True
            else:
                document = form.cleaned_data["document"]
                signature = form.cleaned_data.get("signature")
                if zip_unpacks_beyond(document["data"], VERIFY_ZIP_MAX_UNPACKED):
                    status = 400
                    form.add_error(
                        "document",
                        _(
                            "Cette archive ZIP est trop volumineuse une fois décompressée (plus de "
                            "%(size)s Mio ou de 10 000 fichiers) : ses signatures ne peuvent pas être "
                            "vérifiées sur cette page."
                        )
                        % {"size": VERIFY_ZIP_MAX_UNPACKED // 2**20},
                    )
                else:
                    reports = signature_verify(
                        document["data"],
                        document["name"],
                        detached=signature["data"] if signature else None,
                        detached_name=signature["name"] if signature else "",
                        **verification_options(),
                    )
                    platform_seal = _platform_seal(document["data"], detached=signature)
        for upload in request.FILES.values():
            with contextlib.suppress(Exception):
                upload.close()
        form.describe_errors()
        if reports is not None:
            # A blank form under the report: the files are not kept.
            form = VerifyForm()
            form.describe_errors()
    else:
        form = VerifyForm()
        form.describe_errors()
    context = {
        "form": form,
        "reports": reports,
        "summary": _summary(reports) if reports is not None else "",
        "platform_seal": platform_seal,
        "throttled": throttled,
        "checked_at": clock.now(),
        "attempts": VERIFY_ATTEMPTS,
        "window_minutes": int(VERIFY_WINDOW.total_seconds() // 60),
    }
    return render(request, "signatures/verify_public.html", context, status=status)
