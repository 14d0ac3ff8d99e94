"""Token and cost totals, priced with the model table's prices (`_models_table`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._models_table import MODEL_TABLE, ModelPrice

__all__ = ["DEFAULT_PRICES", "ModelPrice", "RunUsage", "price_for"]


# A model id matches the longest prefix: every snapshot id and alias in the model table, then
# family prefixes for snapshots the table does not know yet. Public list prices (USD / MTok).
# Override per agent with `prices=`; an unknown model is priced at zero and says so in `unpriced`.
_FAMILIES: dict[str, ModelPrice] = {
    "claude-opus-4-5": ModelPrice.from_base(5.0, 25.0),
    "claude-opus-4-6": ModelPrice.from_base(5.0, 25.0),
    "claude-opus-4-7": ModelPrice.from_base(5.0, 25.0),
    "claude-opus-4-8": ModelPrice.from_base(5.0, 25.0),
    "claude-opus-5": ModelPrice.from_base(5.0, 25.0),
    "claude-opus-4": ModelPrice.from_base(15.0, 75.0),
    "claude-sonnet": ModelPrice.from_base(3.0, 15.0),
    "claude-3-7-sonnet": ModelPrice.from_base(3.0, 15.0),
    "claude-3-5-sonnet": ModelPrice.from_base(3.0, 15.0),
    "claude-haiku-4": ModelPrice.from_base(1.0, 5.0),
    "claude-3-5-haiku": ModelPrice.from_base(0.8, 4.0),
    "claude-3-haiku": ModelPrice.from_base(0.25, 1.25),
}
DEFAULT_PRICES: dict[str, ModelPrice] = _FAMILIES | {
    name: info.price for info in MODEL_TABLE if info.price is not None for name in info.ids
}


def price_for(model: str, prices: dict[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of `model`: the entry with the longest matching prefix, or None."""
    if prices is not None:
        return _longest_prefix(model, prices)
    # Every response is priced (once a turn in a run): each model is looked up once while the
    # default table stays as it was (comparing it is much cheaper than the prefix search).
    global _seen_table
    known = _seen_prices
    if DEFAULT_PRICES != _seen_table:
        _seen_table = dict(DEFAULT_PRICES)
        known.clear()
    if model not in known:
        if len(known) >= 256:
            known.clear()
        known[model] = _longest_prefix(model, DEFAULT_PRICES)
    return known[model]


# The default table as last seen, and the prices found in it by model.
_seen_table: dict[str, ModelPrice] = {}
_seen_prices: dict[str, ModelPrice | None] = {}


def _longest_prefix(model: str, table: dict[str, ModelPrice]) -> ModelPrice | None:
    best: str | None = None
    for prefix in table:
        if model.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return table[best] if best is not None else None


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


@dataclass(frozen=True)
class RunUsage:
    """Totals over any number of model calls. Immutable: `add` returns a new value.

    Attributes:
        requests: Model calls counted.
        input_tokens: Uncached input tokens.
        output_tokens: Output tokens.
        cache_creation_input_tokens: Tokens written to the cache.
        cache_read_input_tokens: Tokens read from the cache.
        cost_usd: Cost at the prices in force when each call was added.
        unpriced: Models seen that had no price (their calls add no cost).
    """

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: frozenset[str] = field(default_factory=frozenset)

    @property
    def total_tokens(self) -> int:
        """Every input token (cached or not) plus output tokens."""
        return (
            self.input_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
            + self.output_tokens
        )

    def add(
        self,
        usage: dict[str, object],
        model: str,
        *,
        prices: dict[str, ModelPrice] | None = None,
        discount: float = 1.0,
    ) -> RunUsage:
        """These totals plus one response's `usage` dict, priced for `model`.

        Args:
            usage: The `usage` object of a message, as JSON.
            model: The model that produced it (for pricing).
            prices: A price table to use instead of `DEFAULT_PRICES`.
            discount: A factor on the cost (0.5 for the Batches API).
        """
        # `_int` written out: a response is added once or twice a turn (issue 18).
        inp = usage.get("input_tokens")
        inp = inp if isinstance(inp, int) else 0
        out = usage.get("output_tokens")
        out = out if isinstance(out, int) else 0
        write = usage.get("cache_creation_input_tokens")
        write = write if isinstance(write, int) else 0
        read = usage.get("cache_read_input_tokens")
        read = read if isinstance(read, int) else 0
        price = price_for(model, prices)
        cost = 0.0
        unpriced = self.unpriced
        if price is None:
            unpriced = unpriced | {model}
        else:
            creation = usage.get("cache_creation")
            write_1h = (
                _int(creation.get("ephemeral_1h_input_tokens")) if isinstance(creation, dict) else 0
            )
            write_5m = write - write_1h
            cost = (
                (
                    inp * price.input
                    + out * price.output
                    + write_5m * price.cache_write_5m
                    + write_1h * price.cache_write_1h
                    + read * price.cache_read
                )
                / 1_000_000
                * discount
            )
        return _totals(
            self.requests + 1,
            self.input_tokens + inp,
            self.output_tokens + out,
            self.cache_creation_input_tokens + write,
            self.cache_read_input_tokens + read,
            self.cost_usd + cost,
            unpriced,
        )

    def __add__(self, other: RunUsage) -> RunUsage:
        return _totals(
            self.requests + other.requests,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cost_usd + other.cost_usd,
            self.unpriced | other.unpriced,
        )


def _totals(
    requests: int,
    input_tokens: int,
    output_tokens: int,
    cache_creation_input_tokens: int,
    cache_read_input_tokens: int,
    cost_usd: float,
    unpriced: frozenset[str],
) -> RunUsage:
    """`RunUsage(...)` with every field given, built without the generated `__init__`: a frozen
    dataclass sets each field through `object.__setattr__`, about three times the cost of
    filling the instance's `__dict__`, and a run adds usage several times a turn (issue 18).
    The result is the same object (tests compare it with the constructor's, field by field)."""
    usage = object.__new__(RunUsage)
    fields = usage.__dict__
    fields["requests"] = requests
    fields["input_tokens"] = input_tokens
    fields["output_tokens"] = output_tokens
    fields["cache_creation_input_tokens"] = cache_creation_input_tokens
    fields["cache_read_input_tokens"] = cache_read_input_tokens
    fields["cost_usd"] = cost_usd
    fields["unpriced"] = unpriced
    return usage
