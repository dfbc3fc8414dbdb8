resorce "inferform_data" "a" {
  input = 1
}
