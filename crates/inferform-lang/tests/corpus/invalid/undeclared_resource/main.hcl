resource "inferform_data" "a" {
  input = fabric_endpoint.chat.id
}
