"""Private values of the response models (`_request_id`, `_received`), set after validation.

No pydantic import here: the client sets these values on every response, and its modules load
before the response models do (issue 18).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from typing_extensions import Self

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["PrivateValue", "has_private", "set_private"]

V = TypeVar("V")


class PrivateValue(Generic[V]):
    """A model's private value set after validation (`_request_id` ...), None until set.

    Pydantic's `PrivateAttr` fills every new instance's private values in a Python
    `model_post_init` call, a quarter of a `Message`'s validation (issue 18). This descriptor keeps
    the value where `PrivateAttr` does, in `__pydantic_private__`, so copies, pickles and `==` see
    it as before, and makes that dict on the first assignment instead.
    """

    def __set_name__(self, owner: type[BaseModel], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, model: None, owner: type[BaseModel]) -> Self: ...
    @overload
    def __get__(self, model: BaseModel, owner: type[BaseModel] | None = None) -> V | None: ...
    def __get__(
        self, model: BaseModel | None, owner: type[BaseModel] | None = None
    ) -> Self | V | None:
        if model is None:
            return self
        private: dict[str, Any] | None = model.__pydantic_private__
        return None if private is None else private.get(self._name)

    def __set__(self, model: BaseModel, value: V | None) -> None:
        private: dict[str, Any] | None = model.__pydantic_private__
        if private is None:
            object.__setattr__(model, "__pydantic_private__", {self._name: value})
        else:
            private[self._name] = value


@functools.lru_cache(maxsize=256)
def _slot(cls: type, name: str) -> PrivateValue[Any] | None:
    # Once per class and name: reading a descriptor from its class is a Python call.
    slot = getattr(cls, name, None)
    return slot if isinstance(slot, PrivateValue) else None


def has_private(model: Any, name: str) -> bool:
    """`hasattr(model, name)`, without reading a `PrivateValue` (a Python call)."""
    return _slot(model.__class__, name) is not None or hasattr(model, name)


def set_private(model: Any, name: str, value: object) -> None:
    """`setattr(model, name, value)`, where a `PrivateValue` takes the value directly.

    Pydantic's `BaseModel.__setattr__` costs about ten thousand instructions for a name that is
    not one of its private attributes (it memoizes no handler for such a name): as much as
    validating a content block (issue 18).
    """
    slot = _slot(model.__class__, name)
    if slot is None:
        setattr(model, name, value)
    else:
        slot.__set__(model, value)
