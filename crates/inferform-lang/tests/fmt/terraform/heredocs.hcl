locals {
  doc      = <<EOT
  keep   this   spacing
	and tabs	too
    ${var.x}   and %{if true}y%{endif}
EOT
  indented = <<-EOT
      indented heredoc
        stays as written
      EOT
  in_call = join("\n", [<<EOT
line
EOT
  , "x"])
  a        = 1
  b_longer = <<EOT
x
EOT
  c        = 2
}

resource "inferform_data" "script" {
  input = {
    script = <<-SCRIPT
      #!/bin/sh
      echo "${var.env}"   # not a comment
    SCRIPT
    other  = "x"
  }
}
