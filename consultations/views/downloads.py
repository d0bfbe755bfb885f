"""Downloading the DCE (« retrait »): free and complete, as one ZIP or file by file, streamed.

A GET without ``mode`` shows the choice: download identified (a company user; a
POST, which writes the line of the « registre des retraits ») or anonymously (a
GET with ``mode=anonyme``, which records nothing, so a crawler following links
never writes the register). The buyer's own agents download without a line.
"""

import re

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.permissions import agent_belongs, company_user_of
from consultations import policy
from consultations.models import Consultation, DceFile, DceVersion, State
from consultations.services.dce import dce_current_version
from consultations.services.downloads import download_record
from consultations.views.public import public_consultation
from consultations.zipstream import ZipMember, zip_stream

ANONYMOUS = "anonyme"
IDENTIFIED = "identifie"


def _downloadable(request, pk: int) -> tuple[Consultation, DceVersion]:
    """The consultation and its current DCE version, when this visitor may download it."""
    consultation = public_consultation(pk)
    if consultation.state == State.CANCELLED:
        raise Http404
    version = dce_current_version(consultation)
    if version is None:
        raise Http404
    return consultation, version


def _zip_name(consultation: Consultation, version: DceVersion) -> str:
    reference = re.sub(r"[^\w.-]+", "_", consultation.reference).strip("_") or str(consultation.pk)
    return f"DCE_{reference}_v{version.number}.zip"


def _member(dce_file: DceFile, version: DceVersion) -> ZipMember:
    return ZipMember(
        name=dce_file.name,
        size=dce_file.size,
        modified=version.published_at,
        open=lambda: dce_file.blob.storage.open(dce_file.blob.name, "rb"),
    )


def _choice_or_download(request, consultation, version, *, dce_file=None, stream):
    """Show the choice page, or record (identified) and send the download."""
    if not policy.dce_unlocked(request, consultation):
        messages.error(
            request, _("Saisissez le code d'accès de cette consultation pour télécharger son DCE.")
        )
        return redirect("consultations:detail", pk=consultation.pk)
    buyer_agent = agent_belongs(request.user, consultation)
    if request.method == "POST":
        if request.POST.get("mode") != IDENTIFIED:
            return redirect(request.path)
        if company_user_of(request.user) is None:
            return redirect_to_login(request.path)
        download_record(
            consultation=consultation,
            version=version,
            user=request.user,
            file_name=dce_file.name if dce_file else "",
        )
        return stream()
    if request.GET.get("mode") == ANONYMOUS:
        return stream()
    files = [dce_file] if dce_file else list(version.files.all())
    return render(
        request,
        "consultations/public/download.html",
        {
            "consultation": consultation,
            "version": version,
            "dce_file": dce_file,
            "files": files,
            "total_size": sum(f.size for f in files),
            "company_user": company_user_of(request.user),
            "buyer_agent": buyer_agent,
            "anonymous_mode": ANONYMOUS,
            "identified_mode": IDENTIFIED,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def dce_zip(request, pk):
    consultation, version = _downloadable(request, pk)

    def stream():
        files = list(version.files.all())
        response = StreamingHttpResponse(
            zip_stream(_member(f, version) for f in files), content_type="application/zip"
        )
        response["Content-Disposition"] = content_disposition_header(True, _zip_name(consultation, version))
        response["Cache-Control"] = "private, no-store"
        return response

    return _choice_or_download(request, consultation, version, stream=stream)


@require_http_methods(["GET", "HEAD", "POST"])
def dce_file(request, pk, file_id):
    consultation, version = _downloadable(request, pk)
    # Only a file of the version in force: older versions are history, not a download.
    dce_file = get_object_or_404(DceFile, pk=file_id, version=version)

    def stream():
        blob = dce_file.blob.storage.open(dce_file.blob.name, "rb")
        response = FileResponse(blob, as_attachment=True, filename=dce_file.name)
        response["Cache-Control"] = "private, no-store"
        return response

    return _choice_or_download(request, consultation, version, dce_file=dce_file, stream=stream)
