"""The history as it is sent: the `Conversation`, its cache policy and the preflight checks that
catch a request the API would reject.
"""
