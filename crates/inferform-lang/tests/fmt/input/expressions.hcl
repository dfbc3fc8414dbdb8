locals {
  sum = 1+2*3-4/2%3
  neg = -1
  neg2 = 5 - -1
  neg3 = [-1, - 2]
  cmp = a==b&&c!=d||e>=f&&g<=h||i<j||k>l
  not = ! true
  not2 = !var.enabled
  cond = var.a?"yes":"no"
  call = max( 1,2 , 3 )
  call2 = join(",",[ "a","b" ])
  call3 = coalesce(var.a...)
  nested = lookup(var.map , "key" , "default")
  index = var.list[ 0 ]
  index2 = var.map["key"]
  attr = var.obj . field
  splat = var.list[*].id
  splat2 = var.list.*.id
  paren = ( 1 + 2 ) * 3
  tuple = [ 1,2,3 ]
  empty_tuple = [ ]
  empty_object = { }
  object = {a=1,b="two"}
  object_colon = {a:1}
  forl = [ for x in var.list : upper(x) ]
  forl2 = [for x in [1, 2]: x]
  fori = [for i, x in var.list: "${i}=${x}" if x != ""]
  form = { for k, v in var.map : k => v }
  formg = {for k, v in var.map: v => k...}
  funcs = provider::terraform::encode_tfvars({})
  num = 1.5e+3
  num2 = 0.25
  legacy = var.list.0.name
  multiline = [
  1,
      2,
  3
  ]
  multiobj = {
  a = 1
  bb = [
  "x",
  ]
  }
  callml = merge(
  var.a,
  {
  b = 2
  },
  )
}
