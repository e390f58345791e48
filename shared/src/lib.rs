//! Wijklog's document model (placeholder until the model lands).
