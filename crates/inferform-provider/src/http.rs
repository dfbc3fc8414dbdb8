//! HTTP machinery shared by the cloud clients.
