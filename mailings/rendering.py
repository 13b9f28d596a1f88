"""Mailing messages: the subject and Markdown body with merge fields, per recipient.

Merge fields are Django template variables limited to the names in ``MERGE_FIELDS`` and the
``{% if %}``/``{% else %}``/``{% endif %}`` tags, so a convener can write
``{% if signed %}Thank you{% else %}Please sign{% endif %}``. A template is checked once, at
preview (``message_template_check``): an unknown field, tag or filter is an error there, never
at send. The body's Markdown is turned into HTML once per mailing and the merge fields are then
filled per recipient, escaped in the HTML part.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, TextNode, VariableNode
from django.template.defaulttags import IfNode

from crm.markdown import markdown_html

MERGE_FIELDS = {
    "given_name": "The recipient's given name",
    "family_name": "The recipient's family name",
    "full_name": "The recipient's full name",
    "email": "The recipient's e-mail address",
    "organization": "The member organisation they receive it for",
    "sector": "That organisation's sector",
    "campaign": "The campaign's title",
    "campaign_link": "The campaign's page, with the organisation's referral code",
    "signed": "Whether they (or their organisation) have signed the campaign: use in {% if %}",
    "toolkit_link": "The toolkit's page, with the organisation's own credible link",
    "coalition": "The coalition's name",
}
ALLOWED_TAGS = {"if", "else", "elif", "endif"}
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")
ALLOWED_FILTERS = {"default", "upper", "lower", "title", "capfirst"}

# A template engine of its own: no loaders, no libraries, no debug, nothing on the context but
# strings and booleans, so a template can reach no object and no setting.
_engine = Engine(debug=False, libraries={}, builtins=["django.template.defaulttags"])


def _nodes(nodelist):
    """Every node of a template, depth first, the branches of each {% if %} included."""
    for node in nodelist:
        yield node
        if isinstance(node, IfNode):
            for _condition, branch in node.conditions_nodelists:
                yield from _nodes(branch)
        else:
            for attr in getattr(node, "child_nodelists", ()):
                yield from _nodes(getattr(node, attr, None) or [])


def _condition_expressions(condition) -> list[FilterExpression]:
    """The variables an {% if %} condition reads (its operands, recursively)."""
    found, stack = [], [condition]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if isinstance(getattr(item, "value", None), FilterExpression):
            found.append(item.value)
        stack.extend([getattr(item, "first", None), getattr(item, "second", None)])
    return found


def _expression_errors(expression: FilterExpression) -> list[str]:
    errors = []
    name = getattr(expression.var, "var", None)
    if isinstance(name, str) and name not in MERGE_FIELDS:  # a variable, not a literal
        errors.append(f"{{{{ {name} }}}} is not a merge field.")
    for func, args in expression.filters:
        filter_name = getattr(func, "_filter_name", func.__name__)
        if filter_name not in ALLOWED_FILTERS:
            errors.append(f"The {filter_name} filter cannot be used in a message.")
        for is_variable, argument in args:  # e.g. {{ given_name|default:organization }}
            if is_variable and argument.literal is None and argument.var not in MERGE_FIELDS:
                errors.append(f"{{{{ {argument.var} }}}} is not a merge field.")
    return errors


def message_template_check(source: str, *, label: str) -> None:
    """Raises ValidationError naming every problem of a subject or body template: a syntax
    error, an unknown merge field, a tag other than if/else/endif, a filter not allowed."""
    try:
        template = _engine.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationError(f"{label}: {error}") from error
    errors: list[str] = []
    for node in _nodes(template.nodelist):
        if isinstance(node, TextNode):
            continue
        if isinstance(node, VariableNode):
            errors += _expression_errors(node.filter_expression)
        elif isinstance(node, IfNode):
            for condition, _branch in node.conditions_nodelists:
                for expression in _condition_expressions(condition):
                    errors += _expression_errors(expression)
        else:
            tag = node.token.contents.split()[0] if getattr(node, "token", None) else "?"
            errors.append(f"{{% {tag} %}} cannot be used in a message (only if/else/endif).")
    if errors:
        raise ValidationError([f"{label}: {message}" for message in dict.fromkeys(errors)])


def message_fields_used(source: str) -> set[str]:
    """The merge fields a template reads (its variables and {% if %} operands)."""
    used = set()
    for node in _nodes(_engine.from_string(source).nodelist):
        expressions = [node.filter_expression] if isinstance(node, VariableNode) else []
        if isinstance(node, IfNode):
            for condition, _branch in node.conditions_nodelists:
                expressions += _condition_expressions(condition)
        used |= {e.var.var for e in expressions if isinstance(getattr(e.var, "var", None), str)}
    return used


@dataclass(frozen=True)
class CompiledMessage:
    subject: Template
    text: Template
    html: Template
    fields: frozenset[str]  # the merge fields the subject and body read


@functools.lru_cache(maxsize=64)
def _compile(subject: str, body: str) -> CompiledMessage:
    message_template_check(subject, label="Subject")
    message_template_check(body, label="Message")
    # Markdown first, with the merge tags as plain text (braces and % mean nothing to Markdown),
    # then that HTML is compiled as a template of its own, which escapes what is merged into it.
    # Markdown and the sanitiser turn entities and comments back into characters
    # ("&#123;% lorem %&#125;" becomes "{% lorem %}"), so the HTML is checked as well.
    html = markdown_html(body)
    message_template_check(html, label="Message")
    return CompiledMessage(
        subject=_engine.from_string(subject),
        text=_engine.from_string(body),
        html=_engine.from_string(html),
        fields=frozenset(message_fields_used(subject) | message_fields_used(body)),
    )


def message_compile(*, subject: str, body: str) -> CompiledMessage:
    """The templates of a subject and body, checked (ValidationError otherwise); cached per
    process by their text, so a mailing's recipients share one compilation."""
    return _compile(subject, body)


def message_render(compiled: CompiledMessage, fields: dict) -> tuple[str, str, str]:
    """(subject, text body, HTML body) for one recipient's merge fields."""
    values = {name: fields.get(name, "") for name in MERGE_FIELDS}
    values["coalition"] = values["coalition"] or settings.COALITION_NAME
    subject = compiled.subject.render(Context(values, autoescape=False))
    # Markdown reads well as text, except links: "[sign](https://…)" becomes "sign (https://…)".
    text = _MARKDOWN_LINK.sub(r"\1 (\2)", compiled.text.render(Context(values, autoescape=False)))
    html = compiled.html.render(Context(values, autoescape=True))
    return " ".join(subject.split()), text, html
