"""The Messages API client: configuration, request building, retries, responses, pagination, and
the resources (messages, batches, files, models).
"""
