from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_department_code, validate_postal_code, validate_siret


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address: agent, company user or administrator."""

    email = models.EmailField(_("adresse électronique"), unique=True)
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    is_staff = models.BooleanField(
        _("administrateur de la plateforme"),
        default=False,
        help_text=_("Accès à l'administration de la plateforme."),
    )
    is_active = models.BooleanField(
        _("actif"),
        default=True,
        help_text=_("Un compte inactif ne peut pas se connecter (adresse non confirmée, départ…)."),
    )
    date_joined = models.DateTimeField(_("date d'inscription"), default=timezone.now)
    email_confirmed_at = models.DateTimeField(_("adresse confirmée le"), null=True, blank=True)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        ordering = ["last_name", "first_name"]
        constraints = [
            # Login ignores case: two accounts may not differ by case only.
            models.UniqueConstraint(Lower("email"), name="user_email_case_insensitive_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def name_with_email(self) -> str:
        """« Claire Martin <claire@exemple.fr> », as the PDF proofs and receipts name a person."""
        name = self.get_full_name()
        return f"{name} <{self.email}>" if name else self.email

    @property
    def agent_or_none(self):
        try:
            return self.agent
        except Agent.DoesNotExist:
            return None

    @property
    def company_user_or_none(self):
        try:
            return self.company_user
        except CompanyUser.DoesNotExist:
            return None


class Address(models.Model):
    street = models.CharField(_("adresse"), max_length=255)
    postal_code = models.CharField(_("code postal"), max_length=5, validators=[validate_postal_code])
    city = models.CharField(_("commune"), max_length=120)

    class Meta:
        abstract = True

    @property
    def address_display(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}"


class Organisation(Address):
    """A public buyer (« acheteur », « pouvoir adjudicateur »)."""

    name = models.CharField(_("nom"), max_length=255)
    siret = models.CharField(_("SIRET"), max_length=14, unique=True, validators=[validate_siret])
    department_code = models.CharField(
        _("département"),
        max_length=3,
        validators=[validate_department_code],
        help_text=_("Détermine le calendrier des jours fériés (Alsace-Moselle, outre-mer)."),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisme acheteur")
        verbose_name_plural = _("organismes acheteurs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """A unit of an organisation (« service », « direction »)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="services", verbose_name=_("organisme")
    )
    name = models.CharField(_("nom"), max_length=255)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["organisation__name", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="service_unique_name")]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.name}"


class AgentPermission(models.TextChoices):
    """The « habilitations » an agent may hold in its organisation."""

    CREATE = "create", _("Créer et modifier des consultations")
    VALIDATE = "validate", _("Valider des consultations")
    OPEN = "open", _("Ouvrir les plis")
    DECIDE = "decide", _("Analyser et décider")
    ADMINISTER = "administer", _("Administrer l'organisme")


class Agent(models.Model):
    """A buyer's user, attached to one organisation, with its « habilitations »."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="agent", verbose_name=_("utilisateur")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="agents", verbose_name=_("organisme")
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agents",
        verbose_name=_("service"),
    )
    job_title = models.CharField(_("fonction"), max_length=150, blank=True)
    can_create = models.BooleanField(AgentPermission.CREATE.label, default=False)
    can_validate = models.BooleanField(AgentPermission.VALIDATE.label, default=False)
    can_open = models.BooleanField(AgentPermission.OPEN.label, default=False)
    can_decide = models.BooleanField(AgentPermission.DECIDE.label, default=False)
    can_administer = models.BooleanField(AgentPermission.ADMINISTER.label, default=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["organisation__name", "user__last_name"]

    def __str__(self) -> str:
        return f"{self.user} ({self.organisation})"

    def has_permission(self, permission: str) -> bool:
        return bool(getattr(self, f"can_{AgentPermission(permission).value}"))

    @property
    def permissions(self) -> list[AgentPermission]:
        return [p for p in AgentPermission if self.has_permission(p)]

    @property
    def requires_two_factor(self) -> bool:
        # Whoever can open bids holds the keys to every competitor's offer.
        return self.can_open


class LegalForm(models.TextChoices):
    EI = "EI", _("Entreprise individuelle (EI)")
    EURL = "EURL", _("EURL")
    SARL = "SARL", _("SARL")
    SAS = "SAS", _("SAS")
    SASU = "SASU", _("SASU")
    SA = "SA", _("SA")
    SNC = "SNC", _("SNC")
    SCOP = "SCOP", _("SCOP")
    ASSOCIATION = "ASSOCIATION", _("Association")
    PUBLIC = "PUBLIC", _("Établissement public")
    FOREIGN = "FOREIGN", _("Entreprise étrangère")
    OTHER = "OTHER", _("Autre")


class Company(Address):
    """A bidder (« entreprise », « opérateur économique »), identified by its SIRET."""

    siret = models.CharField(_("SIRET"), max_length=14, unique=True, validators=[validate_siret])
    name = models.CharField(_("raison sociale"), max_length=255)
    legal_form = models.CharField(_("forme juridique"), max_length=20, choices=LegalForm.choices)
    created_at = models.DateTimeField(_("inscrite le"), auto_now_add=True)

    class Meta:
        verbose_name = _("entreprise")
        verbose_name_plural = _("entreprises")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def siren(self) -> str:
        return self.siret[:9]


class CompanyUser(models.Model):
    """A person acting for a company; several may act for the same one."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="company_user", verbose_name=_("utilisateur")
    )
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="users", verbose_name=_("entreprise")
    )
    is_manager = models.BooleanField(
        _("gestionnaire du compte entreprise"),
        default=False,
        help_text=_("Peut ajouter des collègues au compte de l'entreprise."),
    )
    created_at = models.DateTimeField(_("ajouté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("utilisateur d'entreprise")
        verbose_name_plural = _("utilisateurs d'entreprise")
        ordering = ["company__name", "user__last_name"]

    def __str__(self) -> str:
        return f"{self.user} ({self.company})"


class ApiToken(models.Model):
    """A personal token for the API (« jeton d'accès personnel »), for a company's software.

    Only a hash of the token is kept: the token itself is shown once, when it is made.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("utilisateur"),
    )
    label = models.CharField(_("libellé"), max_length=80)
    # The first characters of the token, shown to tell tokens apart.
    prefix = models.CharField(_("début du jeton"), max_length=12)
    # SHA-256 of the whole token, lowercase hex.
    token_sha256 = models.CharField(_("empreinte du jeton"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"))
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'accès à l'API")
        verbose_name_plural = _("jetons d'accès à l'API")
        ordering = ["user_id", "-created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"
