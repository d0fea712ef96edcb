"""Runs the README's backend integration guide (Django snippets) against a real server.

The README's Python blocks are executed as written, with stand-ins only for what a Django site would
provide: `jwt.encode` is HS256 written with the standard library (hmac, hashlib, base64), `requests.post`
is urllib, Django's decorators, settings, JsonResponse and a model are minimal fakes. The server is
onedrive-upload-server with its embedded emulator, no --dev: it accepts only tokens signed with
--jwt-secret. Run: ODU_SERVER_BIN=target/debug/onedrive-upload-server python3 -m unittest discover -s tests/guides -v
"""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
import unittest
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET = "a-shared-secret-of-at-least-32-bytes-for-the-guide-test"
ISSUER = "https://site.test"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_encode(payload, key, algorithm):
    """What PyJWT's jwt.encode does for HS256, with the standard library."""
    assert algorithm == "HS256", algorithm
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(signature)}"


def call(method, url, token=None, body=None):
    """An HTTP call; answers (status, parsed JSON or None)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text else None


class FakeResponse:
    def __init__(self, status, data):
        self.status_code = status
        self._data = data

    def json(self):
        return self._data


def readme_python_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as readme:
        return re.findall(r"```python\n(.*?)```", readme.read(), re.S)


class BackendGuideTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("ODU_SERVER_BIN", os.path.join(ROOT, "target/debug/onedrive-upload-server"))
        cls.data = tempfile.TemporaryDirectory(prefix="odu-guide-")
        cls.log = open(os.path.join(cls.data.name, "server.log"), "w")
        cls.server = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--data-dir", cls.data.name, "--jwt-secret", SECRET,
             "--jwt-issuer", ISSUER, "--jwt-audience", "onedrive-upload", "--folder", "salon-photos"],
            stdout=subprocess.PIPE, stderr=cls.log, text=True,
        )
        deadline = time.time() + 60
        cls.url = None
        while time.time() < deadline:
            line = cls.server.stdout.readline()
            if not line:
                break
            match = re.match(r"listening on (http://\S+)", line)
            if match:
                cls.url = match.group(1).rstrip("/")
                break
        if not cls.url:
            cls.tearDownClass()
            raise RuntimeError(f"the server did not start; see {cls.log.name}")

        # The README's blocks, run with the stand-ins a Django project would provide.
        blocks = readme_python_blocks()
        token_block = next(b for b in blocks if "def onedrive_upload_token" in b)
        move_block = next(b for b in blocks if "/move" in b)
        sys.modules["jwt"] = types.SimpleNamespace(encode=hs256_encode)
        settings = types.SimpleNamespace(ONEDRIVE_UPLOAD_JWT_SECRET=SECRET, ONEDRIVE_UPLOAD_JWT_ISSUER=ISSUER,
                                         ONEDRIVE_UPLOAD_URL=cls.url)
        sys.modules["django"] = types.ModuleType("django")
        sys.modules["django.conf"] = types.SimpleNamespace(settings=settings)
        sys.modules["requests"] = types.SimpleNamespace(
            post=lambda url, json=None, headers=None, timeout=None: FakeResponse(
                *call("POST", url, headers["Authorization"].removeprefix("Bearer "), json)))
        cls.recorded = []
        cls.ns = {
            "login_required": lambda view: view,
            "require_POST": lambda view: view,
            "JsonResponse": lambda data, status=200: (status, data),
            "SalonPhoto": types.SimpleNamespace(objects=types.SimpleNamespace(
                create=lambda **fields: cls.recorded.append(fields))),
        }
        exec(token_block, cls.ns)
        exec(move_block, cls.ns)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        try:
            cls.server.wait(10)
        except subprocess.TimeoutExpired:
            cls.server.kill()
        cls.log.close()
        cls.data.cleanup()

    def user(self, pk):
        return types.SimpleNamespace(pk=pk)

    def test_the_snippets_token_is_accepted_and_names_the_user(self):
        token = self.ns["onedrive_upload_token"](self.user(42))
        status, session = call("POST", f"{self.url}/api/cloud/file", token, {"filename": "guide.txt", "size": 10})
        self.assertEqual(status, 200, session)
        self.assertIn("uploadUrl", session)
        # The claims are the documented ones.
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        self.assertEqual(sorted(claims), ["aud", "exp", "iat", "iss", "sub"])
        self.assertEqual(claims["sub"], "42")

    def test_a_wrong_secret_audience_or_an_expired_token_is_refused(self):
        now = int(time.time())
        claims = {"sub": "42", "iss": ISSUER, "aud": "onedrive-upload", "iat": now, "exp": now + 60}
        self.assertEqual(call("POST", f"{self.url}/api/cloud/file", hs256_encode(claims, SECRET, "HS256"),
                              {"filename": "ok.txt", "size": 1})[0], 200, "the stand-in encodes valid tokens")
        wrong = hs256_encode(claims, "another-secret-of-at-least-32-bytes!!", "HS256")
        other_service = hs256_encode({**claims, "aud": "another-service"}, SECRET, "HS256")
        expired = self.ns["onedrive_upload_token"](self.user(42), lifetime=-3600)
        for token in (wrong, other_service, expired):
            status, body = call("POST", f"{self.url}/api/cloud/file", token, {"filename": "x.txt", "size": 1})
            self.assertEqual(status, 401, body)
            self.assertIn("code", body["error"])

    def test_the_feature_endpoint_moves_the_users_upload_and_records_it(self):
        owner, other = self.user(7), self.user(8)
        token = self.ns["onedrive_upload_token"](owner)
        # A zero-byte upload is created by the server itself: a finished temp file without a browser.
        status, item = call("POST", f"{self.url}/api/cloud/file", token, {"filename": "photo.jpg", "size": 0})
        self.assertEqual(status, 201, item)
        self.assertIn("/temp/7", item["parentReference"]["path"])

        view = self.ns["add_salon_photo"]
        # Another user cannot file it: the server refuses, the view passes the error on.
        status, body = view(types.SimpleNamespace(user=other, POST={"item_id": item["id"]}))
        self.assertIn(status, (403, 404), body)
        self.assertEqual(self.recorded, [])

        status, body = view(types.SimpleNamespace(user=owner, POST={"item_id": item["id"]}))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.recorded, [{"owner": owner, "onedrive_id": item["id"], "name": "photo.jpg", "size": 0}])
        status, moved = call("GET", f"{self.url}/api/cloud/file/{item['id']}", token)
        self.assertEqual(status, 200, moved)
        self.assertTrue(moved["parentReference"]["path"].endswith("salon-photos"), moved["parentReference"])


if __name__ == "__main__":
    unittest.main()
