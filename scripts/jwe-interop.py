#!/usr/bin/env python3
"""Chapter 7's encrypted tokens against a JOSE library that is not ours: jwcrypto.

Both ways: jwcrypto makes a nested JWT (ES256 inside RSA-OAEP + A256GCM) and an A128KW +
A128CBC-HS256 token, and the solution's ignored test opens them; the same test makes a nested JWT
of its own, which jwcrypto opens here. The keys are the RFCs' (RFC 7516 A.1's RSA key, RFC 7516
A.3's AES key, RFC 7515 A.3's P-256 key), the same as in the chapter's suite.

Run from the repository root, in a virtual environment with jwcrypto installed (.ci/run does).
"""

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwe, jwk, jws

A1_N = "oahUIoWw0K0usKNuOR6H4wkf4oBUXHTxRvgb48E-BVvxkeDNjbC4he8rUWcJoZmds2h7M70imEVhRU5djINXtqllXI4DFqcI1DgjT9LewND8MW2Krf3Spsk_ZkoFnilakGygTwpZ3uesH-PFABNIUYpOiN15dsQRkgr0vEhxN92i2asbOenSZeyaxziK72UwxrrKoExv6kc5twXTq4h-QChLOln0_mtUZwfsRaMStPs6mS6XrgxnxbWhojf663tuEQueGC-FCMfra36C9knDFGzKsNa7LZK2djYgyD3JR_MB_4NUJW_TqOQtwHYbxevoJArm-L5StowjzGy-_bq6Gw"
A1_D = "kLdtIj6GbDks_ApCSTYQtelcNttlKiOyPzMrXHeI-yk1F7-kpDxY4-WY5NWV5KntaEeXS1j82E375xxhWMHXyvjYecPT9fpwR_M9gV8n9Hrh2anTpTD93Dt62ypW3yDsJzBnTnrYu1iwWRgBKrEYY46qAZIrA2xAwnm2X7uGR1hghkqDp0Vqj3kbSCz1XyfCs6_LehBwtxHIyh8Ripy40p24moOAbgxVw3rxT_vlt3UVe4WO3JkJOzlpUf-KTVI2Ptgm-dARxTEtE-id-4OJr0h-K-VFs3VSndVTIznSxfyrj8ILL6MG_Uv8YAu7VILSB3lOW085-4qE3DzgrTjgyQ"
A3_KEY = "GawgguFyGrWKav7AX4VKUg"
SENDER = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
}


def number(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def recipient_key():
    n, e, d = number(A1_N), 65537, number(A1_D)
    p, q = rsa.rsa_recover_prime_factors(n, e, d)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)
    )
    return jwk.JWK.from_pyca(numbers.private_key())


def main():
    recipient = recipient_key()
    sender = jwk.JWK(**SENDER)
    with tempfile.TemporaryDirectory() as folder:
        def write(name, text):
            with open(os.path.join(folder, name), "w") as file:
                file.write(text)

        def read(name):
            with open(os.path.join(folder, name)) as file:
                return file.read().strip()

        # jwcrypto -> Rust: sign, then encrypt.
        claims = {"sub": "alice", "iss": "jwcrypto", "n": secrets.randbelow(2**32)}
        inner = jws.JWS(json.dumps(claims))
        inner.add_signature(sender, alg="ES256", protected={"alg": "ES256"})
        outer = jwe.JWE(
            inner.serialize(compact=True).encode(),
            protected={"alg": "RSA-OAEP", "enc": "A256GCM", "cty": "JWT"},
        )
        outer.add_recipient(recipient)
        write("python-nested.jwt", outer.serialize(compact=True))
        write("python-claims.json", json.dumps(claims))

        plaintext = "jwcrypto says hello " + secrets.token_hex(8)
        wrapped = jwe.JWE(plaintext.encode(), protected={"alg": "A128KW", "enc": "A128CBC-HS256"})
        wrapped.add_recipient(jwk.JWK(kty="oct", k=A3_KEY))
        write("python-a128kw.jwe", wrapped.serialize(compact=True))
        write("python-a128kw.txt", plaintext)

        subprocess.run(
            [
                "cargo", "test", "--quiet", "-p", "ch07-beyond-solution", "--test", "beyond", "--",
                "--ignored", "--exact", "suite::jwe::step11_interoperates_with_jwcrypto_both_ways",
            ],
            env={**os.environ, "JWE_INTEROP_DIR": folder},
            check=True,
        )

        # Rust -> jwcrypto: decrypt, check that a JWT is inside, verify it.
        token = jwe.JWE()
        token.deserialize(read("rust-nested.jwt"), key=recipient)
        header = json.loads(token.objects["protected"])
        if header != {"alg": "RSA-OAEP", "enc": "A256GCM", "cty": "JWT"}:
            sys.exit(f"unexpected header from Rust: {header}")
        signed = jws.JWS()
        signed.deserialize(token.payload.decode(), key=jwk.JWK(**{k: v for k, v in SENDER.items() if k != "d"}))
        if json.loads(signed.payload) != json.loads(read("rust-claims.json")):
            sys.exit("the claims jwcrypto read differ from those Rust sealed")
        print("jwcrypto opened Rust's nested JWT, and Rust opened jwcrypto's two tokens")


if __name__ == "__main__":
    main()
