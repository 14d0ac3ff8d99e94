"""From typed Python functions to tools and back: `@tool`, JSON schemas, strict mode, lint, the
run context, and the executor that turns tool calls into tool results.
"""
