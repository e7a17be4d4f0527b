"""An app registration's certificate credential, as an admin pastes it: one PEM text holding the private key
and the certificate uploaded to Entra ID. Only read here to check it and to compute the SHA-1 thumbprint Entra
ID shows (the token request names the certificate by it); the text is stored sealed, as a password is."""

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crm_core.errors import ValidationFailed


def certificate_thumbprint(pem: str) -> str:
    """The certificate's SHA-1 thumbprint in upper-case hex; 422 on "client_certificate" when the text lacks an
    RSA private key (Entra ID signs client assertions with RS256) or a certificate matching it."""
    data = pem.encode()
    try:
        key = serialization.load_pem_private_key(data, password=None)
        certificate = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed.field("client_certificate", "PEM text with the unencrypted private key and the "
                                     f"certificate ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationFailed.field("client_certificate", "an RSA key: Entra ID verifies RS256 assertions")
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        raise ValidationFailed.field("client_certificate", "the certificate is not the private key's")
    return hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()  # noqa: S324
