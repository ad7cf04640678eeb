"""Hand-written responses to real IFEval prompts (by ``key``), in the styles models answer in.

Not model output: written for the parity tests, to hold the cases where a checker's details
matter (poems and lyrics whose lines end without a full stop, all-caps text, markdown bold,
paragraph breaks of three or four line breaks, first words such as ``Summary:`` or ``**Bonus**``,
abbreviations, languages other than English, postscripts, code fences).
"""

from __future__ import annotations

RESPONSES: list[tuple[int, str]] = [
    # -- sentence counts on songs and poems -------------------------------------------------------
    (
        1381,
        "(Verse 1)\nWe need a place to swing and slide\nA jungle gym that's ten feet wide\n"
        "The old one's rusty, creaks and groans\nIt's mostly splinters, sticks and stones\n\n"
        "(Chorus)\nBuild it up, build it up, a playground for us all!\n"
        "Monkey bars and tire swings, we'll have a ball\n\n"
        "(Verse 2)\nThe PTA will bake some pies\nThe principal will win a prize\n"
        "So sign the form and pass it round\nLet's break some happy, muddy ground!",
    ),
    (
        1837,
        "Tiny houses on my shelf, each one built by me myself.\n"
        "Little chairs and tables too, painted red and painted blue.\n"
        "A teacup smaller than a bean. The smallest kitchen ever seen!\n"
        "Oh miniatures, my miniatures, you fit inside my hand.\n"
        "Oh miniatures, my miniatures, a world so small and grand.\n\n"
        "A tiny dog with tiny fleas. A garden full of tiny trees.\n"
        "I glue a door, I trim a vine. Each little piece is only mine.\n"
        "Who needs a mansion on a hill? I have a castle on my sill.\n"
        "Oh miniatures, my miniatures, you fit inside my hand.\n"
        "Oh miniatures, my miniatures, a world so small and grand.\n\n"
        "And when the evening lights go low, my little village starts to glow.\n"
        "Goodnight, small town. Goodnight, small sea. Goodnight to all of you from me.",
    ),
    (
        3256,
        "<<Whiskers and the Wide World>>\n\nA curious cat with eyes of gold\n"
        "Went out to see what the world might hold.\nShe sniffed the roses by the gate\n"
        "And chased a moth until quite late.\n\nShe climbed the fence she climbed the tree\n"
        "She wondered what the birds could see.\nThe moon came up so round and bright\n"
        "She purred and watched it half the night.\n\nAnd when the morning sun arose\n"
        "She curled up warm from ears to toes",
    ),
    (
        1418,
        "The sun comes up.\nThe birds all sing.\nThe grass is wet.\nThe bells will ring.\n"
        "A dog runs by.\nA child says hi.\nThe milk is cold.\nThe bread is old.\n"
        "We walk to school.\nWe know the rule.\nThe clock says nine.\nWe stand in line.\n"
        "The teacher smiles.\nWe count the miles.\nThe bell goes off.\nA small boy coughs.\n"
        "We eat our lunch.\nWe hear a crunch.\nThe day grows long.\nWe sing a song.\n"
        "The sky turns red.\nIt's time for bed.\nThe stars come out.\nThere is no doubt.\n"
        "The owl says who?\nThe night is blue.\nThe house is still.\nThe air is chill.\n"
        "I close my eyes.\nThe moon will rise.",
    ),
    (
        2139,
        "**\"Rate of My Heart\"** *(a 1930s jazz standard)*\n\nVerse:\n"
        "Darling, the rate of my heart keeps climbing,\nEvery time you walk through that door.\n"
        "The band plays low, the horns are chiming,\nAnd I can't stand still anymore.\n\n"
        "Chorus:\nOh, the RTE won't say it on the wireless,\nBut the whole town knows it's true:\n"
        "At any rate, my dear, I'm tireless,\nWhen I'm dancing cheek to cheek with you.",
    ),
    (
        2035,
        '"Why did the scarecrow win an award? Because he was *outstanding in his field*. '
        "His friends were jealous, of course. The crows threw him a party anyway. They said it "
        'was the least they could do for someone so *well-grounded*. Now he won\'t stop talking about it."',
    ),
    (
        1262,
        "<<Heavier Axles, Harder Roads>>\n\nRoad damage grows much faster than axle weight: by the "
        "\"fourth power law\" from the U.S. AASHO Road Test (1958-60), doubling an axle load does "
        "roughly 16 times the damage, e.g. one 18-ton truck axle wears a road like thousands of cars. "
        "Dr. Liddle's analysis of the test found the same pattern on both flexible and rigid pavements. "
        "That is why regulators cap axle loads rather than total vehicle weight.",
    ),
    (
        1268,
        "Here's an example journal entry:\n\n*Dear Journal, today was a lot. I had three deadlines at "
        "work and snapped at my sister. Tonight I went for a 20-minute walk and wrote down the three "
        "things that worried me most.*\n\nI came up with it by picturing a typical overloaded day and "
        "one small, realistic coping step.",
    ),
    # -- nth paragraph first word ------------------------------------------------------------------
    (
        181,
        "ALIENS INVADE EARTH, DEMAND BETTER WI-FI\n\n"
        "President Johnson addressed the nation from under his desk on Tuesday, confirming that "
        "a fleet of saucers had parked over Ohio.\n\nThe aliens, who call themselves the Zorblax, "
        "say they come in peace but would like to speak to our manager.\n\nWitnesses report the "
        "creatures spent most of their first day asking for the Wi-Fi password.\n\nExperts warn "
        "that the invaders may stay until they finish binge-watching every cooking show on Earth.\n\n"
        "At press time, the Zorblax had given Earth two stars on a popular review site.",
    ),
    (
        181,
        "**Aliens Land, Immediately Regret It**\n\n**President** Martha Reyes greeted the visitors "
        "with a firm handshake and a parking ticket.\n\nThe aliens arrived at 3 a.m. in a ship shaped "
        "like a giant rubber duck.\n\nTheir first demand was to be taken to our leader, who was asleep."
        "\n\nTheir second demand was coffee.\n\nBy noon they had filed a complaint about the weather.",
    ),
    (
        181,
        "BREAKING: GREEN MEN SEEN AT THE MALL\n\n\n\nPresident Lee said the government had "
        "everything under control.\n\nNobody believed him.\n\nThe aliens bought shoes.\n\n"
        "They did not pay.\n\nThe mall has banned them for life.",
    ),
    (
        1609,
        '"Weekend plans are the easiest opener: ask Sonia whether she has anything going on this '
        "Saturday, and mention something specific you'd like to do together.\n\nKeep it light. A "
        "casual coffee or a walk through the farmers' market gives you both an easy way out if the "
        "chemistry isn't there.\n\nBe direct about your intentions, though. Saying \"I'd like to take "
        "you out\" is clearer than \"we should hang out sometime.\"\n\nFinally, whatever she says, "
        'thank her for being honest. Confidence comes from being okay with either answer."',
    ),
    (
        2215,
        "Realising that the automotive world was shifting toward electric drivetrains, you spent the "
        "last decade becoming the clutch expert every workshop called first.\n \nNow, with ten years "
        "of sales experience, you are looking for a company that invests in its people as much as in "
        "its products, and that gives you room to grow into a leadership role.",
    ),
    (
        2215,
        "'Realising' was the word your first manager used when you closed your first fleet deal: you "
        "were realising your potential.\n\nTen years later, you know clutches better than anyone, "
        "and you want an employer whose benefits and growth match your ambition.",
    ),
    (
        1954,
        "Poppy seeds are used whole in baking: bagels, bread rolls, and lemon cakes.\n\n"
        "Ground into a paste, they fill pastries such as Polish makowiec.\n\n"
        "In Indian cooking, they thicken curries and sauces.\n\n"
        "Pressed, they give an oil used in salad dressings and artists' paints.\n\n"
        "Bird feed and some traditional remedies use them too.\n\n"
        "They can contain trace opiates, so eat large amounts with care before a drug test.\n\n"
        "**Summary**: poppy seeds are a versatile ingredient with culinary, industrial and "
        "cultural uses.",
    ),
    # -- capital letters and language ------------------------------------------------------------------
    (
        1132,
        "[VERSE 1]\nTURN IT UP, WE'RE BORN TO BE LOUD\nTWO GUITARS SCREAMING OVER THE CROWD\n"
        "GIFTED OR NOT, WE'RE HERE TONIGHT\nTHE STAGE IS OURS AND THE SPEAKERS ARE BRIGHT\n\n"
        "[CHORUS]\nHEY! HEY! THE GIFTED AND THE NOT!\nGIVE IT EVERYTHING YOU'VE GOT!\n"
        "HEY! HEY! WE'LL NEVER STOP!\nFROM THE BASEMENT TO THE TOP!",
    ),
    (
        1021,
        "PARAGRAPH 1\nTHE SENTENCE \"IF THE LAW IS BAD, YOU SHOULD NOT FOLLOW IT\" SOUNDS PRINCIPLED, "
        "BUT IT LEAVES THE KEY QUESTION UNANSWERED: WHO DECIDES WHAT IS BAD? WITHOUT A SHARED "
        "STANDARD, EVERY CITIZEN BECOMES THEIR OWN JUDGE.\n\nPARAGRAPH 2\nHISTORY ALSO SHOWS THAT "
        "CIVIL DISOBEDIENCE CAN BE JUST, AS WHEN DR. KING DEFIED SEGREGATION LAWS. THE DIFFERENCE "
        "IS THAT HE ACCEPTED THE PENALTY OPENLY, WHICH THE SENTENCE NEVER MENTIONS.",
    ),
    (
        1219,
        "NIKE IS THE BETTER SNEAKER BRAND FOR MOST PEOPLE. A NIKE SNEAKER IS BUILT FOR SPORT, WHILE A "
        "PRADA SNEAKER IS BUILT FOR THE RUNWAY. IF YOU WANT A RUNNING SNEAKER, A BASKETBALL SNEAKER, "
        "OR AN EVERYDAY SNEAKER, NIKE HAS ONE. PRADA MAKES A BEAUTIFUL SNEAKER, BUT EACH SNEAKER COSTS "
        "FOUR TIMES AS MUCH. THE BEST SNEAKER IS THE SNEAKER YOU WILL WEAR.\n\n"
        "P.S. TRY ON EVERY SNEAKER BEFORE YOU BUY IT.",
    ),
    (
        1040,
        '"MATTHIAS ALGIERS\nBerlin, Germany | matthias.algiers@example.com\n\nSUMMARY\nWell-known '
        "operations lead with a U.S. and EU track record in LOGISTICS and TEAM-BUILDING. I DON'T "
        "just manage projects: I deliver them.\n\nEXPERIENCE\nHead of Operations, NordFreight GmbH "
        "(2019-present): cut delivery times by 30%.\nShift Lead, CargoLine (2014-2019).\n\n"
        'SKILLS\nNEGOTIATION, SQL, SAP, German (native), English (C2)"',
    ),
    (
        1592,
        "To reach 100% renewable energy, countries must first EXPAND wind and solar capacity, then "
        "STORE the surplus in batteries and pumped hydro, and finally MODERNIZE the grid so that "
        "power flows where it's needed. The U.N.'s 2023 report adds that phasing out coal subsidies "
        "is the cheapest first step.",
    ),
    (
        1108,
        "ಹೌದು, ಹ್ಯಾಂಬರ್ಗರ್ ಒಂದು ರೀತಿಯ ಸ್ಯಾಂಡ್‌ವಿಚ್ ಆಗಿದೆ, ಏಕೆಂದರೆ ಅದರಲ್ಲಿ ಎರಡು ಬ್ರೆಡ್ "
        "ತುಂಡುಗಳ ನಡುವೆ ಮಾಂಸ ಮತ್ತು ತರಕಾರಿಗಳು ಇರುತ್ತವೆ.",
    ),
    (1259, "घाई घाई ऑफिस\nलोकल ट्रेनची गर्दी\nउशीर झाला"),
    (
        1477,
        "یودا در جهانی دیگر بیدار شد\nآسمان سبز بود و ماه سه تا\nگفت: «نیرو اینجا هم هست»\n"
        "و با قورباغه‌ای سخنگو چای نوشید",
    ),
    (
        1051,
        "hey sam,\n\ni hope you're doing well! the election is coming up on tuesday and i really hope "
        "you'll vote. it only takes a few minutes and it matters more than ever.\n\nlet me know if "
        "you want to go together!\n\nlove,\n[Your Name]",
    ),
    (
        1122,
        "new issue just dropped and it's our boldest yet. grab your copy today 🐰✨ "
        "#playboy #newissue #style #culture #weekendreads",
    ),
    # -- paragraphs, postscripts, formats ----------------------------------------------------------
    (
        1082,
        "Dev opened his eyes to a blue sky with a health bar floating in the corner of it. When he "
        "tried to speak, a dialogue box appeared with three options, and he picked the polite one.\n\n"
        "***\n\nBy noon he had learned the rules: doors only opened after quests, and the baker "
        "repeated the same line forever. He saved his game at every well, just in case.",
    ),
    (
        1082,
        "Dev woke up to the sound of a coin pickup.\n* * *\nHe spent the day looking for the pause menu.",
    ),
    (
        1248,
        "Yo, they caught him red-handed, sirens in the night,\nStole a car at midnight, thought the "
        "timing was right!\n***\n**Locked up**, then they let him walk the very same day,\n"
        "* **Bail** paid in cash and he strolled away!\n***\nWhere's the justice? Where's the fine?"
        "\nThe victim's still waiting at the back of the line!\n***\nSo I'm spitting this verse "
        "with my fists in the air,\nCause the system's broken and it just ain't fair!",
    ),
    (
        1246,
        "Introducing the CloudStep Slipper, soft as a sigh,\nWith memory foam that will never say "
        "die.\nIn six cozy colors, from cocoa to cream,\nIt's the closest your feet will get to a "
        "dream.\n\nP. P. S. Machine washable, of course.",
    ),
    (
        1305,
        "Here are ten names:\n\n* Liam\n* Noah\n* Oliver\n* Elijah\n* James\n* William\n* Benjamin\n"
        "* Lucas\n* Henry\n* Theodore\n\nP.P.S. Say each one out loud with your last name!",
    ),
    (
        1094,
        '```JSON\n{\n  "famous_moms": [\n    {"name": "Marge Simpson", "vibe": "blue-haired zen master"},\n'
        '    {"name": "Molly Weasley", "vibe": "knits, duels, wins"},\n'
        '    {"name": "Lorelai Gilmore", "vibe": "runs on coffee"},\n'
        '    {"name": "Morticia Addams", "vibe": "gothic elegance"},\n'
        '    {"name": "Mrs. Incredible", "vibe": "stretches the budget"}\n  ]\n}\n```',
    ),
    (
        1148,
        '```json\n{"advantages": ["help people", "never late"], "disadvantages": ["no privacy"]}\n```'
        "\nHope this helps!",
    ),
]
