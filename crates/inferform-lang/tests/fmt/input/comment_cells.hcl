a = 1 # foo
bungle = (
    "bonce"
) # baz
zebra = "striped" # baz

a2="apple"# foo
bungle2=(# woo parens
"bonce"
)# baz
zebra2="striped"# baz

foo {} # here we go
a3 = 1 # foo
bungle3 = "bonce" # baz

list = [
  [
a
  ]
]
degenerate = [[
[
a
]]
]
call = foo(
1,
- 2,
a*b,
b,
c,
)
