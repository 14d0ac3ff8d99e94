"""Nothing a caller passes is silently ignored: an unknown keyword is a TypeError naming the
closest valid one, and a value out of range is a ConfigurationError saying what is allowed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import agentkit
from agentkit import Agent, AsyncClient, CachePolicy, Client, ConfigurationError, Limits, tool
from agentkit._options import check_choice, check_number, check_options, option_names, strict
from agentkit.bedrock import (
    AnthropicAWSClient,
    AsyncAnthropicAWSClient,
    AsyncBedrockClient,
    AsyncBedrockMantleClient,
    BedrockClient,
    BedrockMantleClient,
)
from agentkit.client import RetryPolicy
from agentkit.foundry import AsyncFoundryClient, FoundryClient
from agentkit.stores import MemoryStore, SQLiteStore
from agentkit.stores.postgres import AsyncPostgresStore, PostgresStore
from agentkit.types import MessageCreateParams
from agentkit.vertex import AsyncVertexClient, VertexClient

KEY = "sk-ant-options-test"
PARAMS: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


def unknown(name: str, suggestion: str) -> str:
    """The message's pattern: the unknown keyword and the closest valid one."""
    return re.escape(f"unknown option {name!r}; did you mean {suggestion!r}?")


# -- the pure check ----------------------------------------------------------------------------


def test_check_options_names_the_closest_valid_keyword() -> None:
    with pytest.raises(TypeError, match=r"f\(\) got an unknown option 'max_retry'; did you"):
        check_options({"max_retry": 0}, {"max_retries", "timeout"}, where="f()")
    check_options({"timeout": 1}, {"max_retries", "timeout"}, where="f()")


def test_check_options_lists_the_valid_names_when_none_is_close() -> None:
    with pytest.raises(TypeError, match="valid options: max_retries, timeout"):
        check_options(["zzz"], {"max_retries", "timeout"}, where="f()")
    with pytest.raises(TypeError, match="it takes no options"):
        check_options(["zzz"], set(), where="f()")


def test_option_names_reads_typeddicts_and_signatures() -> None:
    assert {"max_tokens", "temperature", "extra_body", "betas"} <= option_names(MessageCreateParams)

    def f(a: int, /, b: int, *args: int, c: int = 0, **kwargs: int) -> None: ...

    assert option_names(f) == {"b", "c"}


def test_strict_checks_a_fixed_signature() -> None:
    @strict
    def connect(*, host: str = "", port: int = 0) -> str:
        return f"{host}:{port}"

    assert connect(host="h", port=1) == "h:1"
    with pytest.raises(TypeError, match=unknown("prot", "port")):
        connect(prot=1)


def test_value_checks_say_what_is_allowed() -> None:
    check_number("f()", "timeout", None)
    check_number("f()", "timeout", 0.5)
    for bad in (0, -1, True, "1"):
        with pytest.raises(ConfigurationError, match=r"f\(\): timeout must be a number > 0"):
            check_number("f()", "timeout", bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"must be a number >= 1, not None"):
        check_number("f()", "n", None, minimum=1, inclusive=True, optional=False)
    with pytest.raises(ConfigurationError, match="must be one of 'a', 'b', not 'c'"):
        check_choice("f()", "mode", "c", ("a", "b"))
    with pytest.raises(ConfigurationError, match="not \\[\\]"):
        check_choice("f()", "mode", [], ("a", "b"))  # unhashable: still a clear error


# -- every public constructor and factory: an unknown keyword --------------------------------

CONSTRUCTORS: dict[str, tuple[Callable[..., object], str, str]] = {
    "Client": (lambda **kw: Client(api_key=KEY, **kw), "max_retry", "max_retries"),
    "Client base_uri": (lambda **kw: Client(api_key=KEY, **kw), "base_uri", "base_url"),
    "AsyncClient": (lambda **kw: AsyncClient(api_key=KEY, **kw), "max_retry", "max_retries"),
    "Client.with_options": (
        lambda **kw: Client(api_key=KEY).with_options(**kw),
        "max_retry",
        "max_retries",
    ),
    "AsyncClient.with_options": (
        lambda **kw: AsyncClient(api_key=KEY).with_options(**kw),
        "timout",
        "timeout",
    ),
    "BedrockClient": (lambda **kw: BedrockClient(api_key=KEY, **kw), "aws_regoin", "aws_region"),
    "AsyncBedrockClient": (
        lambda **kw: AsyncBedrockClient(api_key=KEY, **kw),
        "aws_profil",
        "aws_profile",
    ),
    "BedrockMantleClient": (
        lambda **kw: BedrockMantleClient(api_key=KEY, **kw),
        "max_retry",
        "max_retries",
    ),
    "AsyncBedrockMantleClient": (
        lambda **kw: AsyncBedrockMantleClient(api_key=KEY, **kw),
        "aws_session_tokn",
        "aws_session_token",
    ),
    "AnthropicAWSClient": (
        lambda **kw: AnthropicAWSClient(api_key=KEY, workspace_id="w", **kw),
        "workspaceid",
        "workspace_id",
    ),
    "AsyncAnthropicAWSClient": (
        lambda **kw: AsyncAnthropicAWSClient(api_key=KEY, workspace_id="w", **kw),
        "base_uri",
        "base_url",
    ),
    "VertexClient": (
        lambda **kw: VertexClient(region="us-east5", project_id="p", access_token="t", **kw),
        "projectid",
        "project_id",
    ),
    "AsyncVertexClient": (
        lambda **kw: AsyncVertexClient(region="us-east5", project_id="p", access_token="t", **kw),
        "acces_token",
        "access_token",
    ),
    "FoundryClient": (lambda **kw: FoundryClient(api_key=KEY, **kw), "resorce", "resource"),
    "AsyncFoundryClient": (
        lambda **kw: AsyncFoundryClient(api_key=KEY, **kw),
        "azure_token_provider",
        "azure_ad_token_provider",
    ),
    "Agent": (lambda **kw: Agent("claude-haiku-4-5", **kw), "tool_timout", "tool_timeout"),
    "Limits": (lambda **kw: Limits(**kw), "max_turn", "max_turns"),
    "RetryPolicy": (lambda **kw: RetryPolicy(**kw), "max_retry", "max_retries"),
    "CachePolicy": (lambda **kw: CachePolicy(**kw), "tll", "ttl"),
    "tool(...)": (lambda **kw: tool(**kw), "requires_aproval", "requires_approval"),
    "MemoryStore": (lambda **kw: MemoryStore(**kw), "path", ""),
    "SQLiteStore": (lambda **kw: SQLiteStore(":memory:", **kw), "timout", "timeout"),
    # Checked before anything connects: no server is needed to refuse the keyword.
    "PostgresStore": (
        lambda **kw: PostgresStore("postgresql://nowhere.invalid/db", **kw),
        "conect_timeout",
        "connect_timeout",
    ),
    "AsyncPostgresStore": (
        lambda **kw: AsyncPostgresStore("postgresql://nowhere.invalid/db", **kw),
        "connect_timout",
        "connect_timeout",
    ),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTORS))
def test_every_constructor_refuses_an_unknown_keyword(case: str) -> None:
    make, name, suggestion = CONSTRUCTORS[case]
    if suggestion:
        pattern = unknown(name, suggestion)
    else:
        pattern = re.escape(f"unknown option {name!r}; it takes no options")
    with pytest.raises(TypeError, match=pattern):
        make(**{name: 1})


def test_the_message_names_the_class_that_was_called() -> None:
    with pytest.raises(TypeError, match=r"^FoundryClient\(\) got an unknown option 'bogus'"):
        FoundryClient(api_key=KEY, bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^AsyncClient\.with_options\(\) got"):
        AsyncClient(api_key=KEY).with_options(max_retry=0)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^Agent\(\) got"):
        Agent("m", on_max_token="stop")  # type: ignore[call-arg]


# -- the request keywords of messages.create / stream / count_tokens ---------------------------


def counting_client() -> tuple[Client, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=MESSAGE)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Client(api_key=KEY, http_client=http, max_retries=0), sent


@pytest.mark.parametrize(
    ("typo", "field"), [("max_token", "max_tokens"), ("temprature", "temperature")]
)
def test_create_refuses_an_unknown_field_before_sending(typo: str, field: str) -> None:
    client, sent = counting_client()
    params = {k: v for k, v in PARAMS.items() if k != field}
    with pytest.raises(TypeError, match=re.escape(f"unknown argument {typo!r}; did you mean")):
        client.messages.create(**params, **{typo: 5})
    with pytest.raises(TypeError, match=rf"messages\.stream\(\) got an unknown argument {typo!r}"):
        client.messages.stream(**params, **{typo: 5})
    with pytest.raises(TypeError, match=rf"messages\.create\(\) got an unknown argument {typo!r}"):
        client.messages.create(**params, stream=True, **{typo: 5})
    assert sent == []


def test_count_tokens_refuses_a_create_only_field() -> None:
    client, sent = counting_client()
    with pytest.raises(TypeError, match=r"messages\.count_tokens\(\) got an unknown argument"):
        client.messages.count_tokens(**PARAMS)  # max_tokens is not a count_tokens field
    assert sent == []


@pytest.mark.anyio
async def test_async_create_refuses_an_unknown_field() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=MESSAGE)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncClient(api_key=KEY, http_client=http) as client:
        with pytest.raises(TypeError, match=re.escape("'temprature'; did you mean 'temperature'")):
            await client.messages.create(**PARAMS, temprature=0.2)  # type: ignore[call-overload]
    assert sent == []


def test_agent_params_refuse_an_unknown_field() -> None:
    with pytest.raises(TypeError) as caught:
        Agent("claude-haiku-4-5", params={"temprature": 0.2})
    message = "Agent(params=...) got an unknown request field 'temprature'; did you mean"
    assert str(caught.value) == f"{message} 'temperature'?"


@pytest.mark.parametrize(
    ("key", "advice"),
    [
        ("model", "pass Agent(model=...)"),
        ("messages", "pass a prompt or a conversation"),
        ("betas", "pass Agent(betas=...)"),
        ("timeout", "configure the client"),
        ("extra_headers", "configure the client"),
    ],
)
def test_agent_params_refuse_what_the_agent_or_client_sets(key: str, advice: str) -> None:
    with pytest.raises(
        TypeError, match=re.escape(f"does not take {key!r}: ") + f".*{re.escape(advice)}"
    ):
        Agent("claude-haiku-4-5", params={key: 1})


def test_agent_params_send_documented_fields_and_extra_body() -> None:
    client, sent = counting_client()
    params = {"temperature": 0.2, "extra_body": {"brand_new_field": {"on": True}}}
    agent = Agent("claude-haiku-4-5", client=client, params=params)
    agent.run("hi")
    body = httpx.Response(200, content=sent[0].content).json()
    assert body["temperature"] == 0.2 and body["brand_new_field"] == {"on": True}
    assert "extra_body" not in body
    with pytest.raises(TypeError, match="extra_body must be a mapping"):
        Agent("claude-haiku-4-5", params={"extra_body": ["brand_new_field"]})


def test_extra_body_still_sends_a_field_agentkit_does_not_know() -> None:
    client, sent = counting_client()
    client.messages.create(**PARAMS, temperature=0.2, extra_body={"brand_new_field": 1})
    body = httpx.Response(200, content=sent[0].content).json()
    assert body["brand_new_field"] == 1 and body["temperature"] == 0.2


# -- values, checked where they are given ------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -1, "10", httpx.Timeout(5.0, connect=-1.0)])
def test_client_timeouts_must_be_positive(timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        Client(api_key=KEY, timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"with_options\(\): .*timeout"):
        Client(api_key=KEY).with_options(timeout=timeout)  # type: ignore[arg-type]


def test_client_timeouts_that_are_allowed() -> None:
    # None is "no timeout", as in httpx and the official SDK; left out, the 600 s default.
    assert Client(api_key=KEY, timeout=None).timeout == httpx.Timeout(None)
    assert Client(api_key=KEY).timeout == httpx.Timeout(600.0, connect=5.0)
    assert Client(api_key=KEY).with_options(timeout=None).timeout == httpx.Timeout(None)
    assert Client(api_key=KEY, timeout=2.5).timeout.read == 2.5
    assert Client(api_key=KEY).with_options(timeout=httpx.Timeout(3.0)).timeout.read == 3.0


@pytest.mark.parametrize("retries", [-1, 1.5, True])
def test_max_retries_must_be_a_whole_number(retries: object) -> None:
    with pytest.raises(ConfigurationError, match="max_retries must be a whole number >= 0"):
        AsyncClient(api_key=KEY, max_retries=retries)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_retries must be a whole number >= 0"):
        Client(api_key=KEY).with_options(max_retries=retries)  # type: ignore[arg-type]
    assert Client(api_key=KEY, max_retries=0).max_retries == 0


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10"])
def test_max_in_flight_must_be_a_whole_number_or_none(value: object) -> None:
    message = f"max_in_flight must be a whole number >= 1 or None (no limit), not {value!r}"
    with pytest.raises(ConfigurationError, match=re.escape(f"AsyncClient(): {message}")):
        AsyncClient(api_key=KEY, max_in_flight=value)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=re.escape(f"Client(): {message}")):
        Client(api_key=KEY, max_in_flight=value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_in_flight"):
        Client(api_key=KEY, max_inflight=4)  # type: ignore[call-arg]
    assert Client(api_key=KEY, max_in_flight=None) and AsyncClient(api_key=KEY, max_in_flight=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 0}, "max_tokens must be a whole number >= 1, not 0"),
        ({"max_concurrency": 0}, "max_concurrency must be a whole number >= 1"),
        ({"cache": "sometimes"}, "cache must be one of 'auto', 'explicit', 'off'"),
        ({"on_max_tokens": "retry"}, "on_max_tokens must be one of 'stop', 'continue'"),
        ({"tool_timeout": -1}, "tool_timeout must be a number > 0 or None, not -1"),
        ({"tool_timeout": 0}, "tool_timeout must be a number > 0 or None, not 0"),
    ],
)
def test_agent_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"Agent(): {message}")):
        Agent("claude-haiku-4-5", **kwargs)  # type: ignore[arg-type]


def test_agent_betas_must_be_a_list() -> None:
    with pytest.raises(TypeError, match="betas must be a list of beta names, not a string"):
        Agent("claude-haiku-4-5", betas="files-api-2025-04-14")


def test_agent_model_must_be_a_string() -> None:
    with pytest.raises(ConfigurationError, match="model must be a model id string"):
        Agent("")


def test_agent_values_that_are_allowed() -> None:
    agent = Agent(
        "claude-haiku-4-5",
        max_tokens=1,
        cache=CachePolicy(mode="explicit", ttl="1h"),
        tool_timeout=0.5,
        on_max_tokens="continue",
    )
    assert agent.spec.cache.ttl == "1h" and agent.tool_timeout == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_turns": 0}, "max_turns must be a number >= 1 or None, not 0"),
        ({"max_consecutive_tool_errors": 0}, "max_consecutive_tool_errors must be a number >= 1"),
        ({"max_input_tokens": -1}, "max_input_tokens must be a number >= 0"),
        ({"max_output_tokens": -5}, "max_output_tokens must be a number >= 0"),
        ({"max_total_tokens": "many"}, "max_total_tokens must be a number >= 0"),
        ({"max_cost_usd": -0.01}, "max_cost_usd must be a number >= 0"),
    ],
)
def test_limits_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"Limits(): {message}")):
        Limits(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_retries": -1}, "max_retries must be a whole number >= 0, not -1"),
        ({"max_retries": 1.5}, "max_retries must be a whole number >= 0, not 1.5"),
        ({"max_retries": True}, "max_retries must be a whole number >= 0, not True"),
        ({"initial_delay": -0.5}, "initial_delay must be a number >= 0, not -0.5"),
        ({"max_delay": float("nan")}, "max_delay must be a number >= 0, not nan"),
        ({"max_retry_after": "300"}, "max_retry_after must be a number >= 0, not '300'"),
        ({"jitter": -0.1}, "jitter must be a number >= 0, not -0.1"),
        ({"jitter": 1.5}, "jitter must be a number from 0 to 1, not 1.5"),
        ({"sleep": 0.1}, "sleep must be a callable or None, not 0.1"),
    ],
)
def test_retry_policy_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"RetryPolicy(): {message}")):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_policy_values_that_are_allowed() -> None:
    policy = RetryPolicy(max_retries=0, initial_delay=0, max_delay=0, jitter=1.0, sleep=print)
    assert policy.max_retries == 0 and policy.jitter == 1.0
    with pytest.raises(ConfigurationError, match="max_retries must be a whole number"):
        policy.retrying(max_retries=-1)  # a per-request override is checked the same way


def test_limits_that_are_allowed() -> None:
    # None is "no limit"; a budget of 0 stops the run after the first turn that uses any.
    assert Limits(max_turns=None, max_cost_usd=0.0, max_output_tokens=0).max_cost_usd == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "sometimes"}, "mode must be one of 'auto', 'explicit', 'off', not 'sometimes'"),
        ({"ttl": "10m"}, "ttl must be one of '5m', '1h', None, not '10m'"),
    ],
)
def test_cache_policy_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"CachePolicy(): {message}")):
        CachePolicy(**kwargs)  # type: ignore[arg-type]


def test_store_timeouts() -> None:
    with pytest.raises(ConfigurationError, match=r"SQLiteStore\(\): timeout must be a number >= 0"):
        SQLiteStore(":memory:", timeout=-1)
    for make in (PostgresStore, AsyncPostgresStore):
        with pytest.raises(ConfigurationError, match="connect_timeout must be a number > 0"):
            make("postgresql://nowhere.invalid/db", connect_timeout=0)


def test_tool_timeout_is_checked_with_the_schema() -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(agentkit.ToolDefinitionError, match="timeout must be positive"):
        tool(f, timeout=-1)


# -- the official SDK's names on the cloud hosts -----------------------------------------------

AWS_CLIENTS = [BedrockClient, AsyncBedrockClient, BedrockMantleClient, AsyncBedrockMantleClient]


@pytest.mark.parametrize("make", AWS_CLIENTS, ids=lambda c: c.__name__)
def test_aws_hosts_take_aws_region(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_BEDROCK_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    client = make(api_key=KEY, aws_region="eu-west-1")
    assert client.region == "eu-west-1" and "eu-west-1" in client.base_url
    # AWS_REGION is the default, as in the official SDK; `region` is a documented alias.
    assert make(api_key=KEY).region == "ap-south-1"
    assert make(api_key=KEY, region="us-west-2").region == "us-west-2"
    assert make(api_key=KEY, region="us-west-2", aws_region="us-west-2").region == "us-west-2"
    with pytest.raises(ConfigurationError, match="aws_region='eu-west-1' and region='us-west-2'"):
        make(api_key=KEY, aws_region="eu-west-1", region="us-west-2")


def test_claude_platform_on_aws_takes_aws_region() -> None:
    client = AnthropicAWSClient(api_key=KEY, workspace_id="w", aws_region="eu-central-1")
    assert client.region == "eu-central-1"


def test_a_session_token_is_never_ignored() -> None:
    # With an API key, or without the keys it belongs to, it would silently do nothing.
    with pytest.raises(ConfigurationError, match="not both"):
        BedrockClient(api_key=KEY, aws_session_token="t", aws_region="us-east-1")
    with pytest.raises(ConfigurationError, match="aws_session_token goes with aws_access_key"):
        BedrockClient(aws_session_token="t", aws_profile="p", aws_region="us-east-1")


def test_vertex_and_foundry_take_the_sdk_names() -> None:
    vertex = VertexClient(region="us-east5", project_id="proj", access_token="tok")
    assert (vertex.region, vertex.project_id) == ("us-east5", "proj")
    foundry = FoundryClient(resource="res", api_key=KEY)
    assert foundry.base_url == "https://res.services.ai.azure.com/anthropic"
    entra = AsyncFoundryClient(base_url="https://gw.example/anthropic", azure_ad_token_provider=str)
    assert entra.base_url == "https://gw.example/anthropic"


def test_per_request_options_are_checked_too() -> None:
    client, sent = counting_client()
    with pytest.raises(ConfigurationError, match=r"messages\.create\(\): timeout must be"):
        client.messages.create(**PARAMS, timeout=0)
    with pytest.raises(ConfigurationError, match="max_retries must be a whole number"):
        client.messages.count_tokens(model="m", messages=PARAMS["messages"], max_retries=-1)
    with pytest.raises(TypeError, match="betas must be a list of beta names, not a string"):
        client.messages.create(**PARAMS, betas="files-api-2025-04-14")
    assert sent == []
    client.messages.create(**PARAMS, timeout=None, max_retries=0, betas=["b1"])
    assert sent[0].headers["anthropic-beta"] == "b1"


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("default_query", "pass extra_query={...} on each call"),
        ("_strict_response_validation", "responses are always validated"),
        ("webhook_key", "agentkit does not verify webhooks"),
    ],
)
def test_the_sdk_options_agentkit_does_not_take_say_what_to_do(name: str, advice: str) -> None:
    # A guess ("did you mean 'default_headers'?") would mislead: the message says what to do.
    for make in (Client, FoundryClient):
        with pytest.raises(TypeError, match=re.escape(f"does not take {name!r}: {advice}")):
            make(api_key=KEY, **{name: 1})
    with pytest.raises(TypeError, match=re.escape(f"BedrockClient() does not take {name!r}")):
        BedrockClient(api_key=KEY, aws_region="us-east-1", **{name: 1})
