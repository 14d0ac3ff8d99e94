"""Claude through cloud hosts: the shared host plumbing and one module per host.

The public paths are `agentkit.bedrock`, `agentkit.vertex` and `agentkit.foundry`; this package
holds their implementations, each loaded only when its public module is imported.
"""
