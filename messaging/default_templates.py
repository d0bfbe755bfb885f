"""The French texts each kind of message starts from, before an administrator edits
them (``MessageTemplate`` rows, seeded from here by a migration). Also what an agent
gets when the row was removed."""

DEFAULT_TEMPLATES = {
    "amendment": (
        "Modification de la consultation {reference}",
        "Madame, Monsieur,\n\n{acheteur} a modifié la consultation {reference} — {titre}.\n\n"
        "Le détail de la modification figure ci-dessous. La date limite de remise des plis est fixée "
        "au {date_limite}.\n\nLe dossier à jour se consulte sur : {lien}",
    ),
    "answer": (
        "Réponse aux questions — consultation {reference}",
        "Madame, Monsieur,\n\n{acheteur} a publié une réponse à une question posée sur la consultation "
        "{reference} — {titre}.\n\nLes questions et les réponses se lisent sur : {lien}",
    ),
    "documents_request": (
        "Demande de compléments — consultation {reference}",
        "Madame, Monsieur,\n\nDans le cadre de la consultation {reference} — {titre}, nous vous "
        "demandons de bien vouloir nous transmettre les pièces suivantes :\n\n- \n\n"
        "Merci de répondre depuis ce message, en joignant les documents, avant la date indiquée.\n\n"
        "Cordialement,\n{acheteur}",
    ),
    "negotiation": (
        "Négociation — consultation {reference}",
        "Madame, Monsieur,\n\nVotre offre pour la consultation {reference} — {titre} a été retenue pour "
        "la phase de négociation.\n\nNous vous invitons à préciser les points suivants :\n\n- \n\n"
        "Cordialement,\n{acheteur}",
    ),
    "invitation": (
        "Invitation à concourir — consultation {reference}",
        "Madame, Monsieur,\n\nVotre candidature à la consultation {reference} — {titre} a été retenue. "
        "Nous vous invitons à présenter une offre avant le {date_limite}.\n\n"
        "Le dossier de consultation est disponible sur : {lien}\n\nCordialement,\n{acheteur}",
    ),
    "rejection": (
        "Consultation {reference} : rejet de votre offre",
        "Madame, Monsieur,\n\nNous avons le regret de vous informer que votre offre pour la consultation "
        "{reference} — {titre} n'a pas été retenue.\n\nVotre note : \nNote de l'attributaire : \n"
        "Nom de l'attributaire : \nMotifs du rejet : \n\n"
        "Le marché ne sera pas signé avant l'expiration du délai de suspension.\n\n"
        "Cordialement,\n{acheteur}",
    ),
    "award": (
        "Consultation {reference} : attribution du marché",
        "Madame, Monsieur,\n\nNous avons le plaisir de vous informer que votre offre pour la consultation "
        "{reference} — {titre} a été retenue.\n\nAvant la signature du marché, merci de nous transmettre "
        "en réponse à ce message, dans un délai de 7 jours francs, les attestations de régularité fiscale "
        "et sociale.\n\nCordialement,\n{acheteur}",
    ),
    "notification": (
        "Consultation {reference} : notification du marché",
        "Madame, Monsieur,\n\nVous trouverez ci-joint le marché signé pour la consultation {reference} — "
        "{titre}. La date de première lecture de ce message vaut date de notification.\n\n"
        "Cordialement,\n{acheteur}",
    ),
    "cancellation": (
        "Consultation {reference} déclarée sans suite",
        "Madame, Monsieur,\n\n{acheteur} a déclaré sans suite la consultation {reference} — {titre}.",
    ),
    "free": ("Consultation {reference}", "Madame, Monsieur,\n\n\n\nCordialement,\n{acheteur}"),
}
