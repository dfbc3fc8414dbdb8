moved {
  from = "inferform_data.old"
  to   = inferform_data.new
}

resource "inferform_data" "new" {}
