"""Many conversations' tool loops through the Message Batches API: `BatchRunner` and its state."""
