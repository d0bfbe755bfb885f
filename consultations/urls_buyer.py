"""The buyer's space (« Espace acheteur »): dashboard, tabs, validation, « détails »."""

from django.urls import path

from consultations.views import buyer, buyer_tabs, validation

urlpatterns = [
    path("acheteur/consultations/", buyer.buyer_dashboard, name="buyer_dashboard"),
    path("acheteur/consultations/nouvelle/", buyer.buyer_create, name="buyer_create"),
    path("acheteur/consultations/<int:pk>/", buyer.buyer_detail, name="buyer_detail"),
    path("acheteur/consultations/<int:pk>/dce/<int:file_pk>/", buyer.buyer_dce_file, name="buyer_dce_file"),
    path("acheteur/consultations/<int:pk>/validation/", validation.buyer_validation, name="buyer_validation"),
    path(
        "acheteur/consultations/<int:pk>/modifier/lots/<int:lot_pk>/",
        buyer_tabs.buyer_lot_edit,
        name="buyer_lot_edit",
    ),
    path(
        "acheteur/consultations/<int:pk>/modifier/lots/<int:lot_pk>/supprimer/",
        buyer_tabs.buyer_lot_delete,
        name="buyer_lot_delete",
    ),
    path(
        "acheteur/consultations/<int:pk>/modifier/pieces/<int:file_pk>/retirer/",
        buyer_tabs.buyer_dce_file_remove,
        name="buyer_dce_file_remove",
    ),
    path("acheteur/consultations/<int:pk>/modifier/<slug:tab>/", buyer_tabs.buyer_tab, name="buyer_tab"),
]
