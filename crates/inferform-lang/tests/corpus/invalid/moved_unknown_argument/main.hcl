moved {
  from = inferform_data.old
  to   = inferform_data.new
  by   = "refactor"
}

resource "inferform_data" "new" {}
