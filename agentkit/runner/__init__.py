"""The agent loop: the pure `agent_loop` generator, the drivers that perform its effects, the
`Agent`, its events, limits and hooks.
"""
