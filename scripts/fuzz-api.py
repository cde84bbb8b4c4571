"""Helper of scripts/fuzz-api, run with the schemathesis venv's Python.

As a script (`fuzz-api.py seed BASE ADMIN_TOKEN OUT_DIR`): sets up a marketplace on a fresh
server through its public API, as automation would — an operator administrator, a provider
admitted through onboarding (materials, review, agreement, deposit) with its owner's staff
login and an approved one-off image product, a buyer with a paid and an unpaid order — then
writes `OUT_DIR/tokens.env` (the three callers' API tokens) and `OUT_DIR/schemathesis.toml`,
which pins the `{id}` path parameters to these real records so that the generated requests
get past the 404 and reach the handlers' logic.

As a schemathesis hooks module (`SCHEMATHESIS_HOOKS=scripts/fuzz-api.py`): sends the binary
upload bodies (PDF, PNG, JPEG) schemathesis has no serializer for.
"""

import json
import sys

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def register_serializers():
    import schemathesis
    from schemathesis.transport.serialization import serialize_binary

    @schemathesis.serializer("application/pdf", "image/png", "image/jpeg")
    def binary(ctx, value):  # noqa: ARG001 (schemathesis passes the context)
        return {"data": serialize_binary(value)}


class Api:
    def __init__(self, base):
        import requests

        self.base = base
        self.http = requests.Session()

    def call(self, method, path, token=None, body=None, key=None, raw=None, expect=(200, 201)):
        headers = {}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if key:
            headers["idempotency-key"] = key
        kwargs = {"headers": headers, "timeout": 30}
        if raw is not None:
            headers["content-type"] = raw[0]
            kwargs["data"] = raw[1]
        elif body is not None:
            kwargs["json"] = body
        res = self.http.request(method, self.base + path, **kwargs)
        if res.status_code not in expect:
            raise SystemExit(f"seeding: {method} {path} answered {res.status_code}: {res.text}")
        return res.json() if res.content else None

    def user(self, admin, email, kind):
        made = self.call(
            "POST",
            "/api/v1/admin/users",
            admin,
            {"email": email, "display_name": email, "kind": kind},
        )
        uid = made["user"]["id"]
        token = self.call("POST", f"/api/v1/admin/users/{uid}/tokens", admin, {"label": "fuzz"})
        return uid, token["token"]


def seed(base, admin, out_dir):
    api = Api(base)
    _, operator = api.user(admin, "ops@fuzz.example", {"type": "operator_staff", "roles": ["admin"]})
    _, isv = api.user(
        admin, "owner@fuzz-isv.example", {"type": "member", "member_kind": "enterprise"}
    )
    app = api.call("POST", "/api/v1/onboarding/applications", isv, {"store_name": "模糊测试官方店"})
    app_id = app["application"]["id"]
    provider = app["application"]["provider"]
    for kind in app["missing_materials"]:
        raw = ("image/png", PNG) if kind == "legal_representative_id" else ("application/pdf", PDF)
        api.call("POST", f"/api/v1/onboarding/applications/{app_id}/materials?kind={kind}", isv, raw=raw)
    step = f"/api/v1/onboarding/applications/{app_id}"
    review = f"/api/v1/admin/onboarding/applications/{app_id}"
    api.call("POST", f"{step}/submit", isv, {})
    api.call("POST", f"{review}/review", operator, {})
    api.call("POST", f"{review}/verification", operator, {"decision": "verified"})
    api.call("POST", f"{review}/approve", operator, {"partner_member": True})
    agreement = api.call("GET", "/api/v1/onboarding/agreement")
    accepted = api.call("POST", f"{step}/agreement", isv, {"agreement_id": agreement["id"]})
    paid = api.call(
        "POST",
        f"{step}/deposit-payments",
        isv,
        {"amount": accepted["deposit_outstanding"]},
        key="fuzz-deposit",
    )
    store = paid["store"]["store"]["id"]
    _, seller = api.user(
        admin,
        "staff@fuzz-isv.example",
        {"type": "provider_staff", "provider_id": provider, "role": "owner"},
    )
    listing = {
        "title": "模糊测试数据备份镜像",
        "images": ["upload:cover"],
        "attributes": [{"name": "部署方式", "value": "镜像部署"}],
        "description": "稳定可靠的数据备份方案，支持增量备份。",
        "terms": "购买即表示同意本产品服务协议。",
        "delisting_strategy": "下架后已购用户可继续使用至服务期满，数据可随时导出。",
        "open_source": [],
        "own_product_page": "https://www.fuzz-isv.example/backup",
        "refund_terms": "担保期外不予退款。",
    }
    product = api.call(
        "POST",
        "/api/v1/products",
        isv,
        {
            "store": store,
            "category": "image",
            "sales_mode": "self_sold",
            "pricing": "one_off",
            "price": "100.00",
            "refund_policy": "no_refund",
            "content": listing,
        },
    )["id"]
    api.call("POST", f"/api/v1/products/{product}/submit", isv, {})
    api.call("POST", f"/api/v1/review/listings/{product}/approve", operator, {"acknowledged": []})
    buyer_user, buyer = api.user(
        admin, "buyer@fuzz.example", {"type": "member", "member_kind": "personal"}
    )
    member = api.call("GET", "/api/v1/me", buyer)["actor"]["kind"]["member_id"]
    order = api.call("POST", "/api/v1/orders", buyer, {"product_id": product})["order"]["id"]
    api.call("POST", f"/api/v1/orders/{order}/payments", buyer, {}, key="fuzz-pay")
    api.call("POST", "/api/v1/orders", buyer, {"product_id": product})

    pins = [
        (r"^/api/v1/(admin/reconciliation/)?orders/\{id\}", order),
        (r"^/api/v1/(products|catalogue|product-ratings|review/listings)/\{id\}", product),
        (r"^/api/v1/(admin/)?providers/\{id\}", provider),
        (r"^/api/v1/(admin/)?stores/\{id\}", store),
        (r"^/api/v1/(admin/)?onboarding/applications/\{id\}", app_id),
        (r"^/api/v1/(admin/)?members/\{id\}", member),
        (r"^/api/v1/admin/users/\{id\}", buyer_user),
    ]
    lines = ["# Written by scripts/fuzz-api.py: real records for the {id} path parameters.", ""]
    for regex, value in pins:
        lines += [
            "[[operations]]",
            f"include-path-regex = {json.dumps(regex)}",
            f'parameters = {{ "path.id" = {json.dumps(value)} }}',
            "",
        ]
    with open(f"{out_dir}/schemathesis.toml", "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    with open(f"{out_dir}/tokens.env", "w", encoding="utf-8") as f:
        f.write(f"operator={operator}\nprovider={seller}\nbuyer={buyer}\n")


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "seed":
        raise SystemExit("usage: fuzz-api.py seed BASE ADMIN_TOKEN OUT_DIR")
    seed(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    register_serializers()
