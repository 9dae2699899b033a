"""What the JSON API declares in its OpenAPI schema, in one place, so the schema says what the server enforces.

- `QUESTION_PATTERN`, with the length 1..`MAX_QUESTION_CHARS` (owned by app/settings.py): a question
  holds at least one character that is not white space, and no control character but tab and line
  breaks, the rule of `app.answer.question.validate_question`.
- `ErrorBody` and `error_responses(...)`: every error's JSON body, `{"error": "<one line>", "status": N}`,
  declared once for every route (a new route adds `responses=error_responses(400, 503)`).
- `question_status`: the status and message a question that breaks the schema gets (400 or 413,
  never a bare 422), the same messages `verbatim ask` prints.

>>> import re
>>> [bool(re.fullmatch(QUESTION_PATTERN, q)) for q in ("Who?", "  ", "", "a\\x00b", " tab\\there ")]
[True, False, False, False, True]
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.errors import QuestionError
from app.settings import MAX_QUESTION_CHARS

# Cc is U+0000-U+001F and U+007F-U+009F; tab, LF and CR are allowed (validate_question)
_CONTROL = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
# white space that is not a control character, then one visible character, then anything but controls
QUESTION_PATTERN = f"^[^\\S{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"


class ErrorBody(BaseModel):
    """The body of every error the API answers."""

    error: str = Field(description="What went wrong and what to do, in one line.")
    status: int = Field(description="The HTTP status code, repeated.")


_ERRORS = {
    400: ("empty question, control characters or an unknown document",
          "the question is empty; type a question about the report"),
    401: ("uploads: the upload token is missing or wrong", "a valid upload token is required (X-Upload-Token header)"),
    404: ("no such route, or no such document", "Not Found"),
    405: ("method not allowed on this route (the Allow header lists the allowed ones)", "Method Not Allowed"),
    413: ("question over the length limit, or body over 64 KB",
          f"the question is {MAX_QUESTION_CHARS + 1:,} characters; the limit is {MAX_QUESTION_CHARS:,}. "
          "Shorten it and ask again"),
    409: ("uploads: the same file or name is already there, or the last document cannot be removed",
          "report.pdf: the same file is already in the corpus as report.pdf"),
    415: ("uploads: not a PDF, HTML, Markdown or UTF-8 text file",
          "x.bin: binary content (NUL bytes), not a PDF, HTML, Markdown or text file"),
    422: ("malformed body: not JSON, a missing or unknown key, a wrong type, a number out of range",
          "malformed request body (question: Field required)"),
    503: ("loading, swapping in a new build, or busy: retry after Retry-After seconds",
          "the server is busy; try again in a moment"),
}


# POST /documents: one file in the multipart field `file` (app/web/uploads.py)
# and no other field (refused with 400), not empty. Whether the bytes are a readable document the schema
# cannot say: content that is not one is a 415 (or 400 when no text can be read from it)
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "additionalProperties": False,
               "properties": {"file": {"type": "string", "format": "binary", "minLength": 1,
                                       "description": "A PDF, HTML, Markdown or UTF-8 text file, at most 50 MiB."}}},
    "encoding": {"file": {"contentType": "application/pdf, text/html, text/markdown, text/plain"}}}}}}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI `responses` for these error statuses, each with the `ErrorBody` schema and an example."""
    out: dict[int | str, dict] = {}
    for status in statuses:
        description, example = _ERRORS[status]
        entry: dict = {"description": description, "model": ErrorBody,
                       "content": {"application/json": {"example": {"error": example, "status": status}}}}
        if status == 503:
            entry["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
        if status == 405:
            entry["headers"] = {"Allow": {"description": "the allowed methods", "schema": {"type": "string"}}}
        out[status] = entry
    return out


def question_status(question: object, max_chars: int = MAX_QUESTION_CHARS) -> tuple[int, str] | None:
    """(status, message) for a question the schema refuses, None for one it accepts.

    >>> question_status("   ")
    (400, 'the question is empty; type a question about the report')
    >>> question_status("x" * 2001)[0], question_status("Who?")
    (413, None)
    """
    from app.answer.question import validate_question

    if not isinstance(question, str):
        return None  # a wrong type is a malformed body (422)
    try:
        validate_question(question, max_chars)
    except QuestionError as exc:
        return (413 if len(question.strip()) > max_chars else 400), str(exc)
    if len(question) > max_chars:  # the schema counts the characters sent, white space included
        return 413, (f"the question is {len(question):,} characters; the limit is {max_chars:,}. "
                     "Shorten it and ask again")
    return None
