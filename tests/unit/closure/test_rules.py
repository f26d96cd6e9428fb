"""Issue 15: closure rules: checklists per deal type, documents recognised by their content."""
from __future__ import annotations

import pytest

from sales.closure import rules
from sales.closure.enums import DealType

PDF, PNG, JPEG = b"%PDF-1.4 ...", b"\x89PNG\r\n\x1a\n....", b"\xff\xd8\xff\xe1...."


def test_missing_items_follow_the_checklist_order():
    assert rules.missing(DealType.RENT, {"token_amount_received"}) == [
        "agreement_drafted", "id_documents_collected", "move_in_date_fixed"]
    assert rules.missing(DealType.SALE, {key for key, _ in rules.CHECKLISTS[DealType.SALE]}) == []


def test_a_buyer_deal_is_a_sale_else_a_rent():
    assert rules.default_deal_type("BUYER") is DealType.SALE
    assert rules.default_deal_type("TENANT") is DealType.RENT and rules.default_deal_type(None) is DealType.RENT


@pytest.mark.parametrize("name,declared,content,expected", [
    ("a.pdf", "application/pdf", PDF, "application/pdf"),
    ("a.PNG", None, PNG, "image/png"),
    ("a.jpeg", "application/octet-stream", JPEG, "image/jpeg"),
    ("a.jpg", "image/jpeg", JPEG, "image/jpeg"),
])
def test_accepted_documents(name, declared, content, expected):
    assert rules.document_problem(filename=name, declared=declared, content=content) == (expected, None)


@pytest.mark.parametrize("name,declared,content,why", [
    ("a.pdf", None, b"GIF89a", "only PDF, JPEG and PNG"),
    ("a.pdf", None, PNG, "the file name says application/pdf but the content is image/png"),
    ("a.png.exe", None, PNG, "must end in"),
    ("a", None, PDF, "must end in"),
    ("a.pdf", "image/png", PDF, "declared type image/png"),
])
def test_refused_documents(name, declared, content, why):
    kind, problem = rules.document_problem(filename=name, declared=declared, content=content)
    assert kind is None and why in problem
