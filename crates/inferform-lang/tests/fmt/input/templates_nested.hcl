locals {
  a = "hello ${ name }"
  b = "hello ${~ name ~}"
  c = "${ {a=1} }"
  d = "%{ for k, v in var.m ~}${k}=${v},%{~ endfor }"
  e = "${var.a}-%{ if var.b }x%{ endif }"
  f = "${"${var.a}"}"
  g = "${
  var.a
  }"
  h = "${ (var.a) }"
  i = "$${x}"
  j = "a\\b\"c"
  k = format("%s-%d", var.s, 1)
  l = "${ var.a[0] }"
  m = "${ var.a.*.b }"
}
