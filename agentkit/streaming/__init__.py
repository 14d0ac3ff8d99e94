"""From bytes to a message: the SSE decoder, the event core, the pure accumulator, the typed
stream events, and the `Stream` / `MessageStream` shells.
"""
