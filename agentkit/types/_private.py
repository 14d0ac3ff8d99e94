"""Private values of the response models (`_request_id`, `_received`), set after validation.

No pydantic import here: the client sets these values on every response, and its modules load
before the response models do (issue 18).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from typing_extensions import Self

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["PrivateValue", "set_private"]

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


def set_private(model: object, name: str, value: object) -> None:
    """`setattr(model, name, value)`, where a `PrivateValue` takes the value directly.

    Pydantic's `BaseModel.__setattr__` costs about ten thousand instructions for a name that is
    not one of its private attributes (it memoizes no handler for such a name): as much as
    validating a content block (issue 18).
    """
    slot = getattr(type(model), name, None)
    if isinstance(slot, PrivateValue):
        slot.__set__(cast("BaseModel", model), value)  # only models have a PrivateValue
    else:
        setattr(model, name, value)
