"""Checking a certificate credential the way Entra ID does: the `client_assertion` JWT msal signs with the app's
private key. The header names the certificate by thumbprint (`x5t`, the base64url SHA-1, with RS256; or
`x5t#S256`, the SHA-256, with PS256, which msal uses when it has the public certificate); the signature must
verify with that certificate's key; `aud` is the token endpoint, `iss` = `sub` = the client id, and `exp`/`nbf`
bound it in time. Each failure is the AADSTS error Entra documents for it."""

import base64
import hashlib
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.fakes.graph.replies import EntraError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ALGORITHMS = {"x5t": "RS256", "x5t#S256": "PS256"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class CertificateCredential:
    """One certificate registered on an app (only its public part, as the portal keeps it)."""

    def __init__(self, certificate_pem: bytes) -> None:
        self.certificate = x509.load_pem_x509_certificate(certificate_pem)
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        self.thumbprints = {"x5t": _b64url(hashlib.sha1(der).digest()),  # noqa: S324 - the JOSE x5t is SHA-1
                            "x5t#S256": _b64url(hashlib.sha256(der).digest())}
        self.sha1_hex = hashlib.sha1(der).hexdigest().upper()  # noqa: S324

    def verify(self, assertion: str, client_id: str, token_endpoint: str) -> None:
        def invalid(number: int, description: str) -> EntraError:
            return EntraError(401, "invalid_client", number, description)

        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise invalid(50027, "JWT token is invalid or malformed.") from exc
        named = [key for key in _ALGORITHMS if key in header]
        if not named:
            raise invalid(5002723, "Invalid JWT token. No certificate thumbprint specified in token header.")
        key_name = "x5t#S256" if "x5t#S256" in named else "x5t"
        # msal keeps the base64 padding that RFC 7515 leaves out; Entra accepts either.
        if str(header[key_name]).rstrip("=") != self.thumbprints[key_name]:
            raise invalid(700027, "The certificate with identifier used to sign the client assertion is not "
                                  "registered on application. [Reason - The key was not found., Thumbprint of key "
                                  f"used by client: '{header[key_name]}'].")
        algorithm = header.get("alg")
        if algorithm not in ("RS256", "PS256"):
            raise invalid(50027, f"JWT token is invalid or malformed. Unsupported algorithm '{algorithm}'.")
        try:
            claims = jwt.decode(assertion, self.certificate.public_key(), algorithms=[algorithm],  # type: ignore[arg-type]
                                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                         "verify_iat": False})
        except jwt.InvalidSignatureError as exc:
            raise invalid(700027, "Client assertion failed signature validation.") from exc
        except jwt.PyJWTError as exc:
            raise invalid(50027, "JWT token is invalid or malformed.") from exc
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise invalid(700021, "Client assertion application identifier doesn't match 'client_id' parameter. "
                                  "Review the documentation at "
                                  "https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
        if claims.get("aud") != token_endpoint:
            raise invalid(700023, "Client assertion audience claim does not match Realm issuer. Review the "
                                  "documentation at "
                                  "https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
        now = time.time()
        # Entra allows a few minutes of clock skew either side.
        if float(claims.get("exp", 0)) < now - 300 or float(claims.get("nbf", now)) > now + 300:
            raise invalid(700024, "Client assertion is not within its valid time range.")
