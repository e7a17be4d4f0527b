"""Who is calling the Outlook add-in's API: Microsoft Entra ID access tokens from nested app authentication,
checked against the tenant's signing keys, and mapped to a CRM user by tenant id and object id."""
