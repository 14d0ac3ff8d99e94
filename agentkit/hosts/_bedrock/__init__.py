"""Claude on Amazon Bedrock and the first-party API behind AWS auth (`agentkit.bedrock`)."""
