from django.urls import path

from messaging.views import buyer, company

app_name = "messaging"

urlpatterns = [
    # The company's side: its threads across consultations.
    path("entreprise/messages/", company.inbox, name="company_inbox"),
    path("entreprise/messages/fil/<int:pk>/", company.thread, name="company_thread"),
    path("entreprise/messages/<int:pk>/", company.message, name="company_message"),
    path("entreprise/messages/<int:pk>/repondre/", company.reply, name="company_reply"),
    path("entreprise/messages/<int:pk>/preuve.pdf", company.proof, name="company_proof"),
    path(
        "entreprise/messages/<int:pk>/pieces/<int:attachment_pk>/",
        company.attachment,
        name="company_attachment",
    ),
    # The buyer's side: the threads of one consultation.
    path("acheteur/consultations/<int:pk>/messages/", buyer.inbox, name="buyer_inbox"),
    path("acheteur/consultations/<int:pk>/messages/nouveau/", buyer.compose, name="buyer_compose"),
    path("acheteur/consultations/<int:pk>/messages/fil/<int:thread_pk>/", buyer.thread, name="buyer_thread"),
    path("acheteur/consultations/<int:pk>/messages/<int:message_pk>/", buyer.message, name="buyer_message"),
    path(
        "acheteur/consultations/<int:pk>/messages/<int:message_pk>/preuve.pdf",
        buyer.proof,
        name="buyer_proof",
    ),
    path(
        "acheteur/consultations/<int:pk>/messages/<int:message_pk>/pieces/<int:attachment_pk>/",
        buyer.attachment,
        name="buyer_attachment",
    ),
]
