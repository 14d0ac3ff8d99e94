"""The wire shapes every layer shares: messages and content blocks, request parameter types,
batch models, and token usage with its cost.
"""
