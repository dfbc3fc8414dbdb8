locals {
  items = ["a", "b"]
  h1    = <<EOT
hello ${local.items[0]}
  indented
EOT
  h2    = <<-EOT
    for:
    %{ for i in local.items ~}
    - ${i}
    %{ endfor ~}
    done
    EOT
  h3    = <<-EOT
      deeper
    shallow
    EOT
  t1    = "%{ for i, x in local.items }${i}=${x}%{ if i < length(local.items) - 1 }, %{ endif }%{ endfor }"
  t2    = "a \"quoted\" \\ back \t tab \u00e9 \U0001F600"
  t3    = "${"nested ${"deep"}"}"
  t4    = "line1\nline2"
  t5    = "%{ if length(local.items) > 1 ~} many %{~ else ~} one %{~ endif }"
  n1    = 1.0
  n2    = 100 / 4
  n3    = 3 - 5
  n4    = 0.000001
  n5    = 123456789012345678
  s1    = "${local.n1} ${local.n2} ${local.n3} ${local.n4} ${local.n5}"
  objs  = [{ n = "x", v = [1, 2] }, { n = "y", v = [3] }]
  g     = { for o in local.objs : o.n => o.v... }
  f     = flatten(local.objs[*].v)
  sp    = local.objs[*].n
  sp2   = local.objs.*.n
  e     = { a = null }
}
