"""Storage Buckets on the local Hub, through huggingface_hub's own bucket calls."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BucketNotFoundError, HfHubHTTPError

from tests.conftest import HubTokens
from zenml_hf_registry.hub import LocalHub

pytestmark = pytest.mark.integration


def test_create_info_list_and_delete_a_bucket(api: HfApi) -> None:
    url = api.create_bucket("acme/weights")
    assert url.bucket_id == "acme/weights"
    assert url.url == f"{api.endpoint}/buckets/acme/weights"

    with pytest.raises(HfHubHTTPError) as refused:
        api.create_bucket("acme/weights")
    assert refused.value.response.status_code == 409
    assert api.create_bucket("acme/weights", exist_ok=True) == url

    info = api.bucket_info("acme/weights")
    assert (info.id, info.private, info.size, info.total_files) == ("acme/weights", False, 0, 0)
    assert info.created_at.year >= 2024
    assert [b.id for b in api.list_buckets("acme")] == ["acme/weights"]

    api.delete_bucket("acme/weights")
    with pytest.raises(BucketNotFoundError):
        api.bucket_info("acme/weights")
    with pytest.raises(BucketNotFoundError):
        api.delete_bucket("acme/weights")
    api.delete_bucket("acme/weights", missing_ok=True)


def test_a_bare_name_is_the_callers_own_bucket(api: HfApi) -> None:
    assert api.create_bucket("scratch").bucket_id == "alice/scratch"
    assert [b.id for b in api.list_buckets()] == ["alice/scratch"]
    with pytest.raises(HfHubHTTPError) as missing:
        api.bucket_info("scratch")  # info and delete take namespace/name
    assert missing.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError) as missing:
        api.delete_bucket("scratch")
    assert missing.value.response.status_code == 404


def test_private_buckets_are_invisible_to_others(
    api: HfApi, hub: LocalHub, hub_tokens: HubTokens
) -> None:
    api.create_bucket("alice/secret", visibility="private")
    api.create_bucket("alice/open")
    outsider = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    anonymous = HfApi(endpoint=hub.url, token=False)

    assert api.bucket_info("alice/secret").private is True
    assert {b.id for b in api.list_buckets()} == {"alice/secret", "alice/open"}
    for other in (outsider, anonymous):
        with pytest.raises(BucketNotFoundError):
            other.bucket_info("alice/secret")
        assert [b.id for b in other.list_buckets("alice")] == ["alice/open"]


def test_a_bucket_is_created_only_where_the_caller_may_write(
    api: HfApi, hub: LocalHub, hub_tokens: HubTokens
) -> None:
    outsider = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    reader = HfApi(endpoint=hub.url, token=hub_tokens.reader.token)
    for caller in (outsider, reader):
        with pytest.raises(HfHubHTTPError) as refused:
            caller.create_bucket("acme/not-yours")
        assert refused.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as refused:
        outsider.delete_bucket(api.create_bucket("acme/kept").bucket_id)
    assert refused.value.response.status_code == 403
    assert [b.id for b in api.list_buckets("acme")] == ["acme/kept"]
    with pytest.raises(HfHubHTTPError) as unknown:
        list(api.list_buckets("nobody-here"))
    assert unknown.value.response.status_code == 404
