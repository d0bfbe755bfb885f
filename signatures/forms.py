"""Forms of the trust store's admin and of the public verification page."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import TrustedCertificate
from .trust import TrustError, category_check, certificate_parse, certificate_record

CERTIFICATE_MAX_SIZE = 1024 * 1024
TRUSTED_LIST_UPLOAD_MAX_SIZE = 50 * 1024 * 1024
# The public page: a signed document and its detached signature, each at most this size.
VERIFY_MAX_SIZE = 50 * 1024 * 1024
VERIFY_MAX_SIZE_LABEL = "50 Mio"


def _read(upload, limit: int, message: str) -> bytes:
    if upload.size is not None and upload.size > limit:
        raise forms.ValidationError(message, code="too_big")
    data = b"".join(upload.chunks())
    if len(data) > limit:
        raise forms.ValidationError(message, code="too_big")
    return data


class DescribedErrorsMixin:
    """Each field's errors get an id the field points to (``aria-describedby``), beside its help."""

    def describe_errors(self) -> None:
        for name, field in self.fields.items():
            bound = self[name]
            ids = [f"{bound.auto_id}_helptext"] if field.help_text else []
            if bound.errors:
                ids.append(f"{bound.auto_id}_errors")
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)


# --- Admin: a certificate of the trust store ------------------------------------------------


class TrustedCertificateForm(forms.ModelForm):
    """Adding: the certificate is pasted (PEM) or uploaded (.cer, .crt, .pem, DER or PEM); all
    the rest is read from it. Changing: only the name, the category and « actif »."""

    pem_text = forms.CharField(
        label=gettext_lazy("Certificat (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 70, "spellcheck": "false"}),
        help_text=gettext_lazy("Collez le bloc « -----BEGIN CERTIFICATE----- … », ou choisissez un fichier."),
    )
    certificate_file = forms.FileField(
        label=gettext_lazy("ou fichier du certificat"),
        required=False,
        help_text=gettext_lazy("Fichier .cer, .crt ou .pem (DER ou PEM), un seul certificat."),
    )

    class Meta:
        model = TrustedCertificate
        fields = ["name", "category", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = _("Laissé vide : le nom du sujet du certificat.")
        self.adding = self.instance.pk is None
        if not self.adding:
            for name in ("pem_text", "certificate_file"):
                self.fields.pop(name, None)

    def clean(self):
        cleaned = super().clean()
        category = cleaned.get("category")
        if not self.adding:
            if category:
                try:
                    category_check(certificate_parse(self.instance.pem), category)
                except TrustError as error:
                    self.add_error("category", error.message)
            if not cleaned.get("name"):
                self.add_error("name", _("Donnez un nom à ce certificat."))
            return cleaned
        text = (cleaned.get("pem_text") or "").strip()
        upload = cleaned.get("certificate_file")
        if text and upload:
            raise forms.ValidationError(_("Collez le certificat ou choisissez un fichier, pas les deux."))
        if not text and not upload:
            self.add_error("pem_text", _("Collez un certificat PEM ou choisissez un fichier."))
            return cleaned
        if upload:
            try:
                data = _read(upload, CERTIFICATE_MAX_SIZE, _("Un certificat ne fait pas plus de 1 Mio."))
            except forms.ValidationError as error:
                self.add_error("certificate_file", error)
                return cleaned
        else:
            data = text.encode("utf-8", "replace")
        if not category:
            return cleaned
        try:
            record = certificate_record(data, name=cleaned.get("name") or "", category=category)
        except TrustError as error:
            self.add_error("certificate_file" if upload else "pem_text", error.message)
            return cleaned
        for field in (
            "name",
            "pem",
            "fingerprint_sha256",
            "subject",
            "issuer",
            "not_before",
            "not_after",
            "source",
        ):
            setattr(self.instance, field, getattr(record, field))
        cleaned["name"] = record.name
        return cleaned


class TrustedListImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Fichier de la liste de confiance (XML)"),
        help_text=gettext_lazy(
            "Une liste de confiance européenne (ETSI TS 119 612), par exemple celle de la France "
            "téléchargée depuis le site de l'ANSSI. Seuls les services qualifiés « accordés » sont importés."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        return _read(upload, TRUSTED_LIST_UPLOAD_MAX_SIZE, _("Le fichier dépasse 50 Mio."))


# --- The public verification page -----------------------------------------------------------


class VerifyForm(DescribedErrorsMixin, forms.Form):
    document = forms.FileField(
        label=gettext_lazy("Document signé"),
        help_text=gettext_lazy(
            "Un PDF signé (PAdES), un fichier signé enveloppé (.p7m), une archive ZIP, ou le document "
            "dont vous avez la signature détachée. 50 Mio au plus."
        ),
        error_messages={
            "required": gettext_lazy("Choisissez le document signé à vérifier."),
            "empty": gettext_lazy("Le document choisi est vide."),
        },
    )
    signature = forms.FileField(
        label=gettext_lazy("Signature détachée (facultatif)"),
        required=False,
        help_text=gettext_lazy(
            "Le jeton de signature fourni à côté du document : .p7s (CAdES) ou .xml (XAdES). 50 Mio au plus."
        ),
        error_messages={"empty": gettext_lazy("La signature détachée choisie est vide.")},
    )

    def _bytes(self, name: str):
        upload = self.cleaned_data.get(name)
        if not upload:
            return None, ""
        message = _("Le fichier dépasse la taille maximale de %(size)s.") % {"size": VERIFY_MAX_SIZE_LABEL}
        return _read(upload, VERIFY_MAX_SIZE, message), upload.name

    def clean_document(self):
        data, name = self._bytes("document")
        return {"data": data, "name": name}

    def clean_signature(self):
        data, name = self._bytes("signature")
        return {"data": data, "name": name} if data is not None else None
