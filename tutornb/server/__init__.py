"""tutornb's Jupyter server extension: REST routes and the chat WebSocket over TutorService."""
