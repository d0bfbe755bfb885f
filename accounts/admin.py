from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Agent, ApiToken, Company, CompanyUser, Organisation, Service, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AgentInline(admin.StackedInline):
    model = Agent
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["organisation", "service"]


class CompanyUserInline(admin.StackedInline):
    model = CompanyUser
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["company"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["date_joined", "last_login", "email_confirmed_at"]
    inlines = [AgentInline, CompanyUserInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name", "phone")}),
        (
            _("Droits"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("date_joined", "email_confirmed_at", "last_login")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "password1", "password2"),
            },
        ),
    )


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "siret", "department_code", "city", "created_at"]
    list_filter = ["department_code"]
    search_fields = ["name", "siret", "city"]
    inlines = [ServiceInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name", "organisation__name"]
    list_select_related = ["organisation"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "organisation",
        "service",
        "can_create",
        "can_validate",
        "can_open",
        "can_decide",
        "can_administer",
    ]
    list_filter = [
        "organisation",
        "can_create",
        "can_validate",
        "can_open",
        "can_decide",
        "can_administer",
    ]
    search_fields = ["user__email", "user__first_name", "user__last_name", "organisation__name"]
    list_select_related = ["user", "organisation", "service"]
    autocomplete_fields = ["user", "organisation", "service"]


class CompanyUserTabular(admin.TabularInline):
    model = CompanyUser
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "siret", "siren", "legal_form", "city", "created_at"]
    list_filter = ["legal_form", "created_at"]
    search_fields = ["name", "siret", "city"]
    inlines = [CompanyUserTabular]


@admin.register(CompanyUser)
class CompanyUserAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "is_manager", "created_at"]
    list_filter = ["is_manager"]
    search_fields = ["user__email", "user__last_name", "company__name", "company__siret"]
    list_select_related = ["user", "company"]
    autocomplete_fields = ["user", "company"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their users and shown to them once; only a hash is kept. An
    administrator can see them and revoke one by setting its date, nothing else."""

    list_display = ["label", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["label", "prefix", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "label", "prefix", "token_sha256", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False
