"""docs/config.md is generated from the schema, and every key says what it does."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from pitrigger import names
from pitrigger.config import docs, schema


def models(model: type[BaseModel] = schema.Config) -> list[type[BaseModel]]:
    """The schema's models, the root first."""
    found = [model]
    for field in model.model_fields.values():
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))[-1]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            found += models(inner)
    return found


def test_committed_docs_config_md_is_what_the_schema_generates() -> None:
    committed = docs.DOC_PATH.read_text(encoding="utf-8")
    assert committed == docs.render(), (
        "docs/config.md is stale: run `python -m pitrigger.config.docs` and commit it")


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "config.md"
    stale.write_text(docs.render().replace("0.05 – 9", "0.05 – 10"), encoding="utf-8")
    assert docs.main(["--check", "--output", str(stale)]) == 1
    assert docs.main(["--output", str(stale)]) == 0
    assert docs.main(["--check", "--output", str(stale)]) == 0


def test_every_key_has_a_description_and_every_table_an_introduction() -> None:
    seen = models()
    assert schema.PatternConfig in seen and schema.IdleActions in seen
    for model in seen:
        if model is not schema.Config:
            assert (model.__doc__ or "").strip(), model.__name__
        for name, field in model.model_fields.items():
            if model is not schema.Config:
                assert field.description, f"{model.__name__}.{name} needs a description"


def test_every_action_is_explained() -> None:
    assert list(docs.ACTION_MEANINGS) == list(names.ACTIONS)


def test_a_new_key_appears_in_the_document() -> None:
    # What adding a key means: one Field with a description; the document follows.
    class Extended(schema.ButtonConfig):
        """The button."""

        hold_repeat_s: float = Field(2.5, ge=0.5, le=9.0,
                                     description="repeat the hold every this long")

    lines = docs._section("button", Extended)
    assert "| `hold_repeat_s` | number | `2.5` | 0.5 – 9 | repeat the hold every this long |" \
        in lines
