locals {
  plain = "hello"
  interp = "llm-${var.env}"
  spaced = "llm-${ var.env }-${ var.region }"
  only = "${var.env}"
  only_spaced = "${ var.env }"
  only_call = "${lower(var.env)}"
  two = "${var.a}${var.b}"
  nested = "${join("-", ["${var.a}", "b"])}"
  nested_only = "${foo("${bar}")}"
  escaped = "$${not} %%{also_not} \"quoted\" \\ \n \t \u00e9"
  directive = "%{ if var.on }yes%{ else }no%{ endif }"
  loop = "%{ for x in var.list }${x},%{ endfor }"
  strip = "${~ var.x ~}"
  dollar = "cost: $5 and 100%"
  obj_interp = "${ {a = 1} }"
  multi = "${
    var.a
  }"
  multi_cond = "${var.a ?
    var.b : var.c}"
  multi_paren = "${(var.a ?
    var.b : var.c)}"
}
