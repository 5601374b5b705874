"""The WeChat Pay stand-in's keys at work, as WeChat Pay's: verifying that the merchant signed a
request, signing answers and notifications with the platform key, encrypting notification resources
with the APIv3 key."""
from __future__ import annotations

import base64
import json
import re
import secrets
import string
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from standins.wechatpay_records import beijing_now

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat refuses a request whose signed timestamp is more than five minutes off its clock.
CLOCK_SKEW_SECONDS = 300


def merchant_signature_problem(merchant_key: RSAPublicKey, mchid: str, serial_no: str | None, method: str,
                               uri: str, authorization: str, body: str) -> str | None:
    """Why a request's Authorization header does not prove that merchant `mchid` sent it (None when
    it does): the SDK signs "method\\nuri\\ntimestamp\\nnonce\\nbody\\n" with the merchant key."""
    scheme, _, parameters = authorization.partition(" ")
    if scheme != SIGNATURE_TYPE:
        return "no WECHATPAY2-SHA256-RSA2048 Authorization"
    fields = dict(re.findall(r'(\w+)="([^"]*)"', parameters))
    if fields.get("mchid") != mchid:
        return "unknown mchid"
    if serial_no and fields.get("serial_no") != serial_no:
        return "unknown certificate serial_no"
    timestamp = fields.get("timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > CLOCK_SKEW_SECONDS:
        return "timestamp missing or too far from now"
    message = f"{method}\n{uri}\n{timestamp}\n{fields.get('nonce_str', '')}\n{body}\n"
    try:
        merchant_key.verify(base64.b64decode(fields.get("signature", "")), message.encode("utf-8"),
                            PKCS1v15(), SHA256())
    except (InvalidSignature, ValueError):
        return "signature does not verify"
    return None


class PlatformSigner:
    """What WeChat Pay does with its keys: sign answers and notifications, encrypt resources."""

    def __init__(self, private_key_pem: str, public_key_id: str, apiv3_key: str) -> None:
        self._private_key = load_pem_private_key(private_key_pem.encode("ascii"), password=None)
        self.public_key_id = public_key_id
        self._aes = AESGCM(apiv3_key.encode("ascii"))

    def headers(self, body: str) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16).upper()
        signature = self._private_key.sign(f"{timestamp}\n{nonce}\n{body}\n".encode(), PKCS1v15(), SHA256())
        return {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": base64.b64encode(signature).decode("ascii"),
                "Wechatpay-Serial": self.public_key_id, "Wechatpay-Signature-Type": SIGNATURE_TYPE,
                "Request-ID": secrets.token_hex(16)}

    def notification(self, event_type: str, summary: str, original_type: str, resource: dict) -> tuple[dict, str]:
        """The headers and body of a notification, its resource encrypted as WeChat does."""
        nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
        plaintext = json.dumps(resource, ensure_ascii=False).encode("utf-8")
        ciphertext = self._aes.encrypt(nonce.encode("ascii"), plaintext, original_type.encode("ascii"))
        body = json.dumps({
            "id": "EV-" + secrets.token_hex(12), "create_time": beijing_now(), "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
                         "associated_data": original_type, "nonce": nonce},
        }, ensure_ascii=False)
        return {"Content-Type": "application/json", **self.headers(body)}, body
