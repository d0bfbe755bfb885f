"""The trust store in the Django admin, and the contract signatures (read only)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from config import clock
from consultations.admin import ReadOnlyAdmin

from .forms import TrustedCertificateForm, TrustedListImportForm
from .models import ContractSignature, PlatformSealCertificate, PlatformSealedDocument, TrustedCertificate
from .trust import (
    TrustError,
    certificate_change,
    certificate_deactivate,
    certificate_save,
    trusted_list_import,
)


@admin.register(TrustedCertificate)
class TrustedCertificateAdmin(admin.ModelAdmin):
    """Administrators add a certificate by pasting its PEM or uploading its file; every fact is
    read from the certificate. A certificate is deactivated, never deleted (history)."""

    form = TrustedCertificateForm
    change_list_template = "admin/signatures/trustedcertificate/change_list.html"
    list_display = [
        "name",
        "category",
        "not_before",
        "not_after",
        "currently_valid",
        "active",
        "source",
        "country",
    ]
    list_filter = ["category", "active", "source", "country"]
    search_fields = ["name", "subject", "issuer", "fingerprint_sha256", "trusted_list_service"]
    readonly_fields = [
        "pem",
        "fingerprint_sha256",
        "subject",
        "issuer",
        "not_before",
        "not_after",
        "source",
        "trusted_list_service",
        "country",
        "added_at",
    ]
    actions = ["deactivate"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "category", "pem_text", "certificate_file", "active"]})]
        return [
            (None, {"fields": ["name", "category", "active"]}),
            (
                _("Certificat"),
                {"fields": ["subject", "issuer", "not_before", "not_after", "fingerprint_sha256", "pem"]},
            ),
            (_("Origine"), {"fields": ["source", "trusted_list_service", "country", "added_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description=gettext_lazy("valide aujourd'hui"))
    def currently_valid(self, obj):
        return obj.not_before <= clock.now() <= obj.not_after

    def save_model(self, request, obj, form, change):
        if change:
            changed = {
                name: {"before": str(form.initial.get(name)), "after": str(form.cleaned_data.get(name))}
                for name in form.changed_data
            }
            certificate_change(obj, changed=changed, actor=request.user, request=request)
            return
        try:
            certificate_save(obj, actor=request.user, request=request)
        except TrustError as error:
            # Added by someone else between the form's check and now.
            messages.error(request, error.message)
            raise PermissionDenied(error.message) from None

    @admin.action(description=gettext_lazy("Désactiver"), permissions=["change"])
    def deactivate(self, request, queryset):
        count = certificate_deactivate(queryset, actor=request.user, request=request)
        self.message_user(
            request,
            ngettext(
                "%(count)d certificat désactivé : il ne sert plus à vérifier les signatures.",
                "%(count)d certificats désactivés : ils ne servent plus à vérifier les signatures.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    # --- Import of an EU trusted list --------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import-liste-de-confiance/",
                self.admin_site.admin_view(self.trusted_list_import_view),
                name="{}_{}_import".format(*info),
            ),
            *super().get_urls(),
        ]

    def trusted_list_import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TrustedListImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                added, skipped = trusted_list_import(
                    form.cleaned_data["file"], actor=request.user, request=request
                )
            except TrustError as error:
                form.add_error("file", error.message)
            else:
                self.message_user(
                    request,
                    _(
                        "Liste de confiance importée : %(added)d certificat(s) ajouté(s), "
                        "%(skipped)d ignoré(s) (déjà présents, illisibles, ou services non accordés ou d'un "
                        "autre type)."
                    )
                    % {"added": added, "skipped": skipped},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:signatures_trustedcertificate_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Importer une liste de confiance européenne"),
            "form": form,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/signatures/trustedcertificate/import.html", context)


@admin.register(ContractSignature)
class ContractSignatureAdmin(ReadOnlyAdmin):
    """The signed contracts: kept as the platform verified them; changed only by the flow."""

    list_display = ["decision", "party", "name", "verdict", "uploaded_at", "superseded"]
    list_filter = ["party", "verdict", "superseded"]
    search_fields = ["name", "sha256", "decision__consultation__reference"]
    fields = [
        "decision",
        "party",
        "name",
        "size",
        "sha256",
        "detached_name",
        "verdict",
        "reports",
        "uploaded_at",
        "uploaded_by",
        "superseded",
    ]


@admin.register(PlatformSealCertificate)
class PlatformSealCertificateAdmin(ReadOnlyAdmin):
    """The certificates the platform sealed with, written by the platform only: read only.
    A certificate is retired with ``manage.py platform_seal_retire``."""

    list_display = ["subject", "fingerprint_sha256", "first_used_at", "not_after", "retired_at"]
    search_fields = ["subject", "fingerprint_sha256"]
    readonly_fields = [
        "subject",
        "fingerprint_sha256",
        "first_used_at",
        "not_after",
        "retired_at",
        "certificate_pem",
        "roots_pem",
    ]


@admin.register(PlatformSealedDocument)
class PlatformSealedDocumentAdmin(ReadOnlyAdmin):
    """The documents the platform sealed (their SHA-256 as issued), written by the platform only."""

    list_display = ["reason", "sha256", "certificate", "sealed_at"]
    search_fields = ["sha256", "reason"]
    list_select_related = ["certificate"]
